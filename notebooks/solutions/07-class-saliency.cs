// Solutions to the exercises of notebooks/07-class-saliency.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the class saliency maps (N x H x W) of images (N x C x H x W) for one class per image.
Tensor MySaliency(Tensor images, Tensor classes)
{
    var gradient = InputGradient.Of(model, images, x => model.Module.forward(x).gather(1, classes.unsqueeze(1)).sum());
    return gradient.abs().amax([1]);   // |gradient|, largest over the channels
}
#endregion

#region Exercise 1: mistake
// Differentiates the probability after the softmax instead of the score: the other classes enter, and a confident
// prediction has almost no gradient left.
Tensor MySaliency(Tensor images, Tensor classes)
{
    var gradient = InputGradient.Of(model, images, x => nn.functional.softmax(model.Module.forward(x), 1).gather(1, classes.unsqueeze(1)).sum());
    return gradient.abs().amax([1]);
}
#endregion

#region Exercise 2: solution
string? blackSaliency = "b";   // the gradient does not depend on the pixel being 0; conv1 is linear in the pixels
#endregion

#region Exercise 2: mistake
string? blackSaliency = "a";   // true of Integrated Gradients with a black baseline, not of the gradient
#endregion

#region Exercise 3: solution
// Exercise 3: the saliency maps (N x H x W) of the margin: score of `first` minus score of `second`, per image.
Tensor MyMarginSaliency(Tensor images, Tensor first, Tensor second)
{
    var gradient = InputGradient.Of(model, images, x =>
    {
        var scores = model.Module.forward(x);
        return (scores.gather(1, first.unsqueeze(1)) - scores.gather(1, second.unsqueeze(1))).sum();
    });
    return gradient.abs().amax([1]);
}
#endregion

#region Exercise 3: mistake
// Subtracts the two classes' saliency maps: the difference of the magnitudes, not the magnitude of the difference.
Tensor MyMarginSaliency(Tensor images, Tensor first, Tensor second)
{
    Tensor Map(Tensor classes) => InputGradient.Of(model, images, x => model.Module.forward(x).gather(1, classes.unsqueeze(1)).sum()).abs().amax([1]);
    return Map(first) - Map(second);
}
#endregion

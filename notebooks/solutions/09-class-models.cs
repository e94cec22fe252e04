// Solutions to the exercises of notebooks/09-class-models.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the image after one step of gradient ascent on S_c(I) - λ‖I‖².
Tensor MyClassModelStep(VisionModel model, Tensor image, int cls, double learningRate, double l2Weight)
{
    var gradient = InputGradient.Of(model, image, x => model.Module.forward(x)[.., cls].sum() - l2Weight * x.square().sum());
    return (image + learningRate * gradient).clamp(0, 1);
}
#endregion

#region Exercise 1: mistake
// Adds the penalty instead of subtracting it: the step rewards bright pixels instead of charging for them.
Tensor MyClassModelStep(VisionModel model, Tensor image, int cls, double learningRate, double l2Weight)
{
    var gradient = InputGradient.Of(model, image, x => model.Module.forward(x)[.., cls].sum() + l2Weight * x.square().sum());
    return (image + learningRate * gradient).clamp(0, 1);
}
#endregion

#region Exercise 2: solution
// Exercise 2: your prediction, "a", "b" or "c".
string? strongerPenalty = "a";
#endregion

#region Exercise 2: mistake
// Expects the penalty to change nothing because the probability stays near 100 %.
string? strongerPenalty = "c";
#endregion

#region Exercise 3: solution
// Exercise 3: your prediction, "higher" or "lower".
string? greyStart = "lower";
#endregion

#region Exercise 3: mistake
// Expects a head start from grey.
string? greyStart = "higher";
#endregion

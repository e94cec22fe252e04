// Solutions to the exercises of notebooks/12-fooling-images.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the images after one step of normalised gradient ascent on their classes' scores.
Tensor MyAscentStep(VisionModel model, Tensor images, Tensor classes, double stepSize)
{
    var gradient = InputGradient.Of(model, images, x => model.Module.forward(x).gather(1, classes.unsqueeze(1)).sum());
    var meanAbsolute = gradient.abs().mean([1, 2, 3], keepdim: true);   // one number per image
    return (images + stepSize * gradient / (meanAbsolute + 1e-12)).clamp(0, 1);
}
#endregion

#region Exercise 1: mistake
// Normalises by the whole batch's mean gradient, not each image's: images with small gradients barely move.
Tensor MyAscentStep(VisionModel model, Tensor images, Tensor classes, double stepSize)
{
    var gradient = InputGradient.Of(model, images, x => model.Module.forward(x).gather(1, classes.unsqueeze(1)).sum());
    return (images + stepSize * gradient / gradient.abs().mean()).clamp(0, 1);
}
#endregion

#region Exercise 2: solution
// Exercise 2: your prediction, "a", "b", "c" or "d".
string? afterBlur = "c";
#endregion

#region Exercise 2: mistake
// Expects images at 99 % to be robust: confidence is not robustness.
string? afterBlur = "a";
#endregion

#region Exercise 3: solution
// Exercise 3: the new elite probabilities (10) and, per class, the offspring that became its elite or -1 (10).
(Tensor Fitness, Tensor Parent)? MyArchiveUpdate(Tensor elites, Tensor offspring)
{
    var (best, index) = offspring.max(0);                                          // per class, the best offspring
    var better = best.gt(elites);
    return (where(better, best, elites), where(better, index, full_like(index, -1)));
}
#endregion

#region Exercise 3: mistake
// Replaces every elite by the best offspring, even when the offspring is worse: the archive can then lose ground.
(Tensor Fitness, Tensor Parent)? MyArchiveUpdate(Tensor elites, Tensor offspring)
{
    var (best, index) = offspring.max(0);
    return (best, index);
}
#endregion

// Solutions to the exercises of notebooks/15-physical-world.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the images under the lighting step, one brightness offset and one contrast factor per image.
Tensor MyLighting(Tensor images, Tensor brightness, Tensor contrast)
{
    var b = brightness.reshape(-1, 1, 1, 1);
    var c = contrast.reshape(-1, 1, 1, 1);
    return ((images - 0.5) * c + 0.5 + b).clamp(0, 1);   // contrast about mid-grey, then brightness, then the photo's range
}
#endregion

#region Exercise 1: mistake
// Scales the pixels themselves, not their distance from mid-grey: contrast then also darkens or brightens the image.
Tensor MyLighting(Tensor images, Tensor brightness, Tensor contrast) =>
    (images * contrast.reshape(-1, 1, 1, 1) + brightness.reshape(-1, 1, 1, 1)).clamp(0, 1);
#endregion

#region Exercise 2: solution
// Exercise 2: the survival rate, from the labels and the network's answers on four sets of images.
double? MySurvivalRate(Tensor labels, Tensor onClean, Tensor onCleanPhotos, Tensor onAdversarial, Tensor onAdversarialPhotos)
{
    var counted = onClean.eq(labels).logical_and(onCleanPhotos.eq(labels)).logical_and(onAdversarial.ne(labels));
    var survived = counted.logical_and(onAdversarialPhotos.ne(labels));
    return (double)survived.sum().item<long>() / counted.sum().item<long>();
}
#endregion

#region Exercise 2: mistake
// Counts every adversarial example, also those whose clean photo was already wrong: the camera's own errors pass for survival.
double? MySurvivalRate(Tensor labels, Tensor onClean, Tensor onCleanPhotos, Tensor onAdversarial, Tensor onAdversarialPhotos)
{
    var counted = onClean.eq(labels).logical_and(onAdversarial.ne(labels));
    var survived = counted.logical_and(onAdversarialPhotos.ne(labels));
    return (double)survived.sum().item<long>() / counted.sum().item<long>();
}
#endregion

#region Exercise 3: solution
// Exercise 3: your prediction, a letter from "a" to "e".
string? worstStep = "b";
#endregion

#region Exercise 3: mistake
// Expects the lighting, the largest visible change, to do the most harm.
string? worstStep = "a";
#endregion

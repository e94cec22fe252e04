// Solutions to the exercises of notebooks/14-adversarial-patch.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the images (N x 1 x 28 x 28) with the patch (1 x P x P) pasted, its top-left pixel at column `left`, row `top`.
Tensor MyPaste(Tensor images, Tensor patch, int left, int top)
{
    var pasted = images.clone();
    long size = patch.shape[^1];
    pasted.narrow(2, top, size).narrow(3, left, size).copy_(patch);   // rows are dimension 2, columns dimension 3; the patch broadcasts over the images
    return pasted;
}
#endregion

#region Exercise 1: mistake
// Swaps x and y: `left` is used as the row and `top` as the column.
Tensor MyPaste(Tensor images, Tensor patch, int left, int top)
{
    var pasted = images.clone();
    long size = patch.shape[^1];
    pasted.narrow(2, left, size).narrow(3, top, size).copy_(patch);
    return pasted;
}
#endregion

#region Exercise 2: solution
// Exercise 2: the gradient (1 x P x P) of the mean log-probability of `target` over the pasted images, with respect to the patch.
Tensor MyPatchGradient(Tensor patch, Tensor images, IReadOnlyList<PatchPlacement> placements, int target)
{
    var watched = patch.detach().requires_grad_(true);
    var scores = model.Forward(PatchPasting.Paste(images, watched, placements));
    var objective = nn.functional.log_softmax(scores, 1)[.., target].mean();
    return autograd.grad([objective], [watched])[0];
}
#endregion

#region Exercise 2: mistake
// Climbs the probability instead of the log-probability: the images where the target is already likely dominate the gradient.
Tensor MyPatchGradient(Tensor patch, Tensor images, IReadOnlyList<PatchPlacement> placements, int target)
{
    var watched = patch.detach().requires_grad_(true);
    var scores = model.Forward(PatchPasting.Paste(images, watched, placements));
    var objective = nn.functional.softmax(scores, 1)[.., target].mean();
    return autograd.grad([objective], [watched])[0];
}
#endregion

#region Exercise 3: solution
string? corner = "b";
#endregion

#region Exercise 3: mistake
string? corner = "a";
#endregion

// Solutions to the exercises of notebooks/08-saliency-segmentation.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the box (left, top, width, height) around the most salient `fraction` of the pixels of a map (H x W).
Box MySalientBox(Tensor saliency, double fraction)
{
    long height = saliency.shape[0], width = saliency.shape[1];
    var count = (int)Math.Max(1, Math.Round(fraction * height * width));
    var chosen = saliency.flatten().topk(count).indexes;
    var rows = chosen.div(width, rounding_mode: RoundingMode.floor);
    var columns = chosen.remainder(width);
    long top = Math.Max(1, rows.min().item<long>()), bottom = Math.Min(height - 2, rows.max().item<long>());   // off the outer ring
    long left = Math.Max(1, columns.min().item<long>()), right = Math.Min(width - 2, columns.max().item<long>());
    return new Box(left, top, right - left + 1, bottom - top + 1);
}
#endregion

#region Exercise 1: mistake
// Forgets to keep the outermost ring outside the box: where the salient pixels reach the edge, so does the box.
Box MySalientBox(Tensor saliency, double fraction)
{
    long width = saliency.shape[1];
    var count = (int)Math.Max(1, Math.Round(fraction * saliency.numel()));
    var chosen = saliency.flatten().topk(count).indexes;
    var rows = chosen.div(width, rounding_mode: RoundingMode.floor);
    var columns = chosen.remainder(width);
    long top = rows.min().item<long>(), bottom = rows.max().item<long>();
    long left = columns.min().item<long>(), right = columns.max().item<long>();
    return new Box(left, top, right - left + 1, bottom - top + 1);
}
#endregion

#region Exercise 2: solution
string? leastLikelyBox = "b";   // the box hardly depends on the class, and GrabCut does the rest by colour
#endregion

#region Exercise 2: mistake
string? leastLikelyBox = "a";   // would hold if the map pointed at the evidence for the class; the box start barely uses it
#endregion

#region Exercise 3: solution
// Exercise 3: the intersection over union of two masks (H x W).
double MyIoU(Tensor mask, Tensor truth)
{
    var a = mask.gt(0.5);
    var b = truth.gt(0.5);
    long union = a.logical_or(b).sum().item<long>();
    return union == 0 ? 1 : a.logical_and(b).sum().item<long>() / (double)union;
}
#endregion

#region Exercise 3: mistake
// Divides by the pixels of the truth instead of the union: the share of the garment found, blind to background taken.
double MyIoU(Tensor mask, Tensor truth)
{
    var a = mask.gt(0.5);
    var b = truth.gt(0.5);
    long inTruth = b.sum().item<long>();
    return inTruth == 0 ? 1 : a.logical_and(b).sum().item<long>() / (double)inTruth;
}
#endregion

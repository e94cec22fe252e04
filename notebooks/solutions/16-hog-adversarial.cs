// Solutions to the exercises of notebooks/16-hog-adversarial.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the histogram (bins) of one cell, from its pixels' gradient magnitudes and orientations (both cell x cell).
Tensor MyCellHistogram(Tensor magnitude, Tensor orientation, int bins)
{
    var position = (orientation * (bins / Math.PI) - 0.5).flatten();   // in bin units: bin k is centred at k
    var lower = position.floor();
    var upperShare = position - lower;                                 // the nearer the upper centre, the more it gets
    var lowerBin = lower.remainder(bins).to(ScalarType.Int64);         // −1 wraps to the last bin
    var upperBin = (lower + 1).remainder(bins).to(ScalarType.Int64);   // bins wraps to bin 0
    var weights = magnitude.flatten();
    return zeros(bins).scatter_add(0, lowerBin, weights * (1 - upperShare)).scatter_add(0, upperBin, weights * upperShare);
}
#endregion

#region Exercise 1: mistake
// Centres bin k on k · 180° / bins instead of (k + ½) · 180° / bins: every vote lands half a bin off.
Tensor MyCellHistogram(Tensor magnitude, Tensor orientation, int bins)
{
    var position = (orientation * (bins / Math.PI)).flatten();
    var lower = position.floor();
    var upperShare = position - lower;
    var lowerBin = lower.remainder(bins).to(ScalarType.Int64);
    var upperBin = (lower + 1).remainder(bins).to(ScalarType.Int64);
    var weights = magnitude.flatten();
    return zeros(bins).scatter_add(0, lowerBin, weights * (1 - upperShare)).scatter_add(0, upperBin, weights * upperShare);
}
#endregion

#region Exercise 2: solution
// Exercise 2: one block's histogram (36 values), normalised with L2-Hys.
Tensor MyL2Hys(Tensor block, double epsilon, double clip)
{
    var normalized = block / (block.square().sum().sqrt() + epsilon);
    var clipped = normalized.clamp_max(clip);
    return clipped / (clipped.square().sum().sqrt() + 1e-3);
}
#endregion

#region Exercise 2: mistake
// Clips but does not normalise again, so a block with one strong edge ends up shorter than the others.
Tensor MyL2Hys(Tensor block, double epsilon, double clip)
{
    var normalized = block / (block.square().sum().sqrt() + epsilon);
    return normalized.clamp_max(clip);
}
#endregion

#region Exercise 3: solution
string? dimmer = "a";   // the block normalisation divides the halving out
#endregion

#region Exercise 3: mistake
string? dimmer = "c";
#endregion

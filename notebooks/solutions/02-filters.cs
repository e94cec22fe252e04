// Solutions to the exercises of notebooks/02-filters.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: every filter of a bank (out x in x k x k) stretched on its own to [0, 1], same shape.
Tensor MyForDisplay(Tensor weights)
{
    var low = weights.amin([1, 2, 3], keepdim: true);    // one smallest weight per filter, out x 1 x 1 x 1
    var high = weights.amax([1, 2, 3], keepdim: true);
    return (weights - low) / (high - low);
}
#endregion

#region Exercise 1: mistake
// Stretches the whole bank on one scale: weak filters come out as flat grey.
Tensor MyForDisplay(Tensor weights) => (weights - weights.min()) / (weights.max() - weights.min());
#endregion

#region Exercise 2: solution
string? bestPatch = "b";   // a dot product of fixed length is largest for the patch that points the way the weights do
#endregion

#region Exercise 2: mistake
string? bestPatch = "a";   // a uniform patch only sums the weights, and an edge's positive and negative weights cancel
#endregion

#region Exercise 3: solution
// Exercise 3: for each filter of a bank (out x in x k x k), how alike neighbouring weights are: a tensor of length out.
Tensor MySmoothness(Tensor weights)
{
    var centred = weights - weights.mean([1, 2, 3], keepdim: true);
    var right = (centred[.., .., .., 1..] * centred[.., .., .., ..^1]).mean([1, 2, 3]);
    var below = (centred[.., .., 1.., ..] * centred[.., .., ..^1, ..]).mean([1, 2, 3]);
    return (right + below) / 2 / (centred * centred).mean([1, 2, 3]);
}
#endregion

#region Exercise 3: mistake
// Forgets to centre the filters: a filter that is mostly positive looks smooth whatever its pattern.
Tensor MySmoothness(Tensor weights)
{
    var right = (weights[.., .., .., 1..] * weights[.., .., .., ..^1]).mean([1, 2, 3]);
    var below = (weights[.., .., 1.., ..] * weights[.., .., ..^1, ..]).mean([1, 2, 3]);
    return (right + below) / 2 / (weights * weights).mean([1, 2, 3]);
}
#endregion

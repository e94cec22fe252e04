// Solutions to the exercises of notebooks/00-models.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: turn scores (N x classes) into probabilities, one row per image.
Tensor MyProbabilities(Tensor scores)
{
    var exponentials = (scores - scores.amax([1], keepdim: true)).exp();
    return exponentials / exponentials.sum(1, keepdim: true);
}
#endregion

#region Exercise 1: mistake
// Divides by the sum over the whole batch instead of over each image's classes.
Tensor MyProbabilities(Tensor scores)
{
    var exponentials = scores.exp();
    return exponentials / exponentials.sum();
}
#endregion

#region Exercise 2: solution
// Exercise 2: the fraction of the images (scores N x classes, labels N) whose label is among their k highest scores.
double MyTopKAccuracy(Tensor scores, Tensor labels, int k)
{
    var top = scores.topk(k, dim: 1).indexes;                              // N x k: each image's k best classes
    var hit = top.eq(labels.to(top.device).unsqueeze(1)).any(1);           // is the label one of them?
    return hit.to_type(ScalarType.Float64).mean().item<double>();
}
#endregion

#region Exercise 2: mistake
// Counts the images whose label is in their top k instead of taking their fraction.
double MyTopKAccuracy(Tensor scores, Tensor labels, int k)
{
    var top = scores.topk(k, dim: 1).indexes;
    return top.eq(labels.to(top.device).unsqueeze(1)).sum().item<long>();
}
#endregion

#region Exercise 3: solution
string? hardestClass = "c";   // Shirt
#endregion

#region Exercise 3: mistake
string? hardestClass = "b";   // Trouser: the easiest class, not the hardest
#endregion

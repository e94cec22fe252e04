// Solutions to the exercises of notebooks/13-one-pixel.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
string? randomSearch = "b";
#endregion

#region Exercise 1: mistake
string? randomSearch = "c";
#endregion

#region Exercise 2: solution
// Exercise 2: the DE/rand/1 mutants (P x k x 3) of a population (P x k x 3), with r1, r2, r3 of each candidate in `others` (P x 3).
Tensor MyMutation(Tensor population, Tensor others, float F)
{
    var r1 = population[others[.., 0]];
    var r2 = population[others[.., 1]];
    var r3 = population[others[.., 2]];
    return r1 + F * (r2 - r3);
}
#endregion

#region Exercise 2: mistake
// Adds the scaled difference to the candidate itself instead of to x_r1 (another scheme, DE/current/1).
Tensor MyMutation(Tensor population, Tensor others, float F)
{
    return population + F * (population[others[.., 1]] - population[others[.., 2]]);
}
#endregion

#region Exercise 3: solution
// Exercise 3: the next population (P x k x 3): each trial replaces its parent where it is at least as good.
Tensor MySelection(Tensor parents, Tensor parentLoss, Tensor trial, Tensor trialLoss)
{
    var better = trialLoss.le(parentLoss).reshape(-1, 1, 1);   // one decision per candidate, broadcast over its pixel and values
    return where(better, trial, parents);
}
#endregion

#region Exercise 3: mistake
// Keeps the trial where its loss is higher: raises the probability of the true class, the opposite of the attack.
Tensor MySelection(Tensor parents, Tensor parentLoss, Tensor trial, Tensor trialLoss)
{
    var better = trialLoss.ge(parentLoss).reshape(-1, 1, 1);
    return where(better, trial, parents);
}
#endregion

// Solutions to the exercises of notebooks/20-robust-models.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: the FGSM-with-random-start batch for the budget epsilon.
Tensor MyAdversarialBatch(Func<Tensor, Tensor> lossGradient, Tensor images, Tensor noise, double epsilon)
{
    var start = (images + epsilon * noise).clamp(0, 1);                        // a random point of the ε-ball
    var stepped = start + 1.25 * epsilon * lossGradient(start).sign();         // one FGSM step, taken at the start
    return minimum(maximum(stepped, images - epsilon), images + epsilon).clamp(0, 1);   // back into the ball, and into [0, 1]
}
#endregion

#region Exercise 1: mistake
// Takes the step from the random start but never projects: a step of 1.25 ε from up to ε away lands up to 2.25 ε from the image.
Tensor MyAdversarialBatch(Func<Tensor, Tensor> lossGradient, Tensor images, Tensor noise, double epsilon)
{
    var start = (images + epsilon * noise).clamp(0, 1);
    return (start + 1.25 * epsilon * lossGradient(start).sign()).clamp(0, 1);
}
#endregion

#region Exercise 2: solution
string? transfer = "c";   // fashion-cnn's adversarial changes are the faint patterns the robust network was trained to ignore
#endregion

#region Exercise 2: mistake
string? transfer = "a";   // adversarial images transfer between similar networks, not to one trained against such changes
#endregion

#region Exercise 3: solution
// Exercise 3: the robust accuracy of two attacks together, from their per-image verdicts.
double MyRobustAccuracy(Tensor survivesPgd, Tensor survivesApgd)
{
    return (survivesPgd & survivesApgd).to_type(ScalarType.Float64).mean().item<double>();   // robust only if it survives both
}
#endregion

#region Exercise 3: mistake
// The lower of the two accuracies: right only when the attacks break the same images, an overestimate otherwise.
double MyRobustAccuracy(Tensor survivesPgd, Tensor survivesApgd)
{
    double pgd = survivesPgd.to_type(ScalarType.Float64).mean().item<double>();
    double apgd = survivesApgd.to_type(ScalarType.Float64).mean().item<double>();
    return Math.Min(pgd, apgd);
}
#endregion

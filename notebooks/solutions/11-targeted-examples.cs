// Solutions to the exercises of notebooks/11-targeted-examples.ipynb, for teachers.
// Each "solution" region replaces the student's cell of that exercise; each "mistake" region is a typical wrong
// answer, for which the check must say "not yet". The tests run both (tests/NotebookRunner/Solutions.cs).

#region Exercise 1: solution
// Exercise 1: untargeted FGSM: the adversarial images (N x 1 x 28 x 28) for the budget epsilon.
Tensor MyFgsm(Func<Tensor, Tensor> lossGradient, Tensor images, double epsilon)
{
    return (images + epsilon * lossGradient(images).sign()).clamp(0, 1);   // up the loss, then back into [0, 1]
}
#endregion

#region Exercise 1: mistake
// Forgets to clamp: black background pixels pushed down end at −ε, which no image can hold.
Tensor MyFgsm(Func<Tensor, Tensor> lossGradient, Tensor images, double epsilon)
{
    return images + epsilon * lossGradient(images).sign();
}
#endregion

#region Exercise 2: solution
// Exercise 2: untargeted PGD without random start: the adversarial images after `steps` projected steps.
Tensor MyPgd(Func<Tensor, Tensor> lossGradient, Tensor images, double epsilon, double stepSize, int steps)
{
    var adversarial = images.clone();
    for (int step = 0; step < steps; step++)
    {
        adversarial = adversarial + stepSize * lossGradient(adversarial).sign();
        adversarial = minimum(maximum(adversarial, images - epsilon), images + epsilon);   // back into the ε-ball around the original
        adversarial = adversarial.clamp(0, 1);                                             // and into [0, 1]
    }
    return adversarial;
}
#endregion

#region Exercise 2: mistake
// Clamps into [0, 1] but never projects onto the ε-ball: after 5 steps of 0.02 a pixel can be 0.1 away, twice the budget.
Tensor MyPgd(Func<Tensor, Tensor> lossGradient, Tensor images, double epsilon, double stepSize, int steps)
{
    var adversarial = images.clone();
    for (int step = 0; step < steps; step++)
        adversarial = (adversarial + stepSize * lossGradient(adversarial).sign()).clamp(0, 1);
    return adversarial;
}
#endregion

#region Exercise 3: solution
string? randomSigns = "b";   // random signs mostly cancel; FGSM's all agree with the gradient
#endregion

#region Exercise 3: mistake
string? randomSigns = "a";   // the same size of change, but not the same direction
#endregion

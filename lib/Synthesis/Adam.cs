using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// Adam (Kingma and Ba, 2015) as a step rule, the optimiser Lucid uses for feature visualisation (notebook 09). Each
/// parameter gets its own step: the running mean of its gradients divided by the running root mean square, times
/// <paramref name="LearningRate"/>. So every parameter moves by about the learning rate per step, whatever the size of
/// its gradient, and a parameter whose gradient keeps changing sign (noise from the random transforms) hardly moves.
/// In the Fourier basis that is what makes the change of the image follow the 1/f scaling.
/// </summary>
/// <param name="LearningRate">About the largest change of a parameter per step.</param>
/// <param name="Beta1">How slowly the mean of the gradients forgets (0.9: over about ten steps).</param>
/// <param name="Beta2">How slowly the mean square of the gradients forgets.</param>
/// <param name="Epsilon">Added to the root mean square, so that parameters without gradient stay put.</param>
public sealed record Adam(double LearningRate, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8) : IStepRule
{
    /// <summary>Adam remembers past gradients: the loop asks <see cref="ForNewRun"/> for a fresh memory and steps with that.</summary>
    public Tensor Update(Tensor gradient) =>
        throw new InvalidOperationException("Adam keeps running means of past gradients: take steps with the rule ForNewRun() returns (the loop does).");

    public IStepRule ForNewRun()
    {
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), $"The learning rate must be positive (e.g. 0.05); got {LearningRate}.");
        if (!(Beta1 >= 0 && Beta1 < 1 && Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta1), $"Both betas must lie in [0,1); got {Beta1} and {Beta2}.");
        if (!(Epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(Epsilon), $"Epsilon must be positive; got {Epsilon}.");
        return new Run(this);
    }

    /// <summary>One run's memory: the running means, created at the first step and freed with the run.</summary>
    sealed class Run(Adam settings) : IStepRule, IDisposable
    {
        Tensor? mean, meanSquare;
        int steps;

        public Tensor Update(Tensor gradient)
        {
            using var noGrad = no_grad();
            mean ??= zeros_like(gradient).DetachFromDisposeScope();
            meanSquare ??= zeros_like(gradient).DetachFromDisposeScope();
            steps++;
            mean.mul_(settings.Beta1).add_(gradient, alpha: 1 - settings.Beta1);
            meanSquare.mul_(settings.Beta2).addcmul_(gradient, gradient, value: 1 - settings.Beta2);
            // The running means start at zero; dividing by 1 - beta^t removes that bias from the first steps.
            double meanCorrection = 1 - Math.Pow(settings.Beta1, steps), squareCorrection = 1 - Math.Pow(settings.Beta2, steps);
            using var scope = NewDisposeScope();
            var step = mean / meanCorrection / ((meanSquare / squareCorrection).sqrt() + settings.Epsilon) * settings.LearningRate;
            return step.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            mean?.Dispose();
            meanSquare?.Dispose();
        }
    }
}

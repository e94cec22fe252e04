using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>Turns the gradient of the objective into the change added to the parameters (ascent: the objective should grow).</summary>
public interface IStepRule
{
    Tensor Update(Tensor gradient);

    /// <summary>The rule one run of the loop steps with: a rule with memory (<see cref="Adam"/>) starts a fresh one, which the loop disposes if it can; others are their own.</summary>
    IStepRule ForNewRun() => this;
}

/// <summary>Plain gradient ascent: the change is <paramref name="LearningRate"/> times the gradient.</summary>
public sealed record GradientAscent(double LearningRate) : IStepRule
{
    public Tensor Update(Tensor gradient) => gradient * LearningRate;
}

/// <summary>
/// DeepDream's step: the gradient divided by its mean absolute value (per image, the first dimension), times <paramref name="StepSize"/>.
/// Every step then changes the pixels by <paramref name="StepSize"/> on average, however large or small the
/// gradient of the chosen layer happens to be, so one step size suits every layer and every network.
/// </summary>
public sealed record NormalizedGradient(double StepSize) : IStepRule
{
    public Tensor Update(Tensor gradient)
    {
        using var scope = NewDisposeScope();
        var shape = Enumerable.Repeat(1L, (int)gradient.dim()).ToArray();
        shape[0] = -1;
        var meanAbsolute = gradient.abs().flatten(1).mean([1]).reshape(shape);
        return (gradient * StepSize / (meanAbsolute + 1e-12)).MoveToOuterDisposeScope();
    }
}

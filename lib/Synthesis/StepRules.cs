using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// How the loop turns the gradient of the objective into a change of the parameters (ascent: the objective should
/// grow). Every run of the loop begins afresh (<see cref="Begin"/>), so a rule that remembers earlier gradients
/// (<see cref="Adam"/>) never carries them from one run into the next.
/// </summary>
public interface IStepRule
{
    /// <summary>Starts a run whose steps change <paramref name="parameters"/> in place; the loop disposes it at the end.</summary>
    IStepRun Begin(Tensor parameters);
}

/// <summary>One run of an <see cref="IStepRule"/>: one step per gradient.</summary>
public interface IStepRun : IDisposable
{
    /// <summary>Changes the parameters by one step up <paramref name="gradient"/> (shaped like them).</summary>
    void Step(Tensor gradient);
}

/// <summary>A rule without memory: every step adds <see cref="Change"/> of the gradient to the parameters.</summary>
public abstract record MemorylessRule : IStepRule
{
    /// <summary>What a step adds to the parameters for <paramref name="gradient"/>.</summary>
    public abstract Tensor Change(Tensor gradient);

    public IStepRun Begin(Tensor parameters) => new Run(this, parameters);

    sealed class Run(MemorylessRule rule, Tensor parameters) : IStepRun
    {
        public void Step(Tensor gradient)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            parameters.add_(rule.Change(gradient));
        }

        public void Dispose() { }
    }
}

/// <summary>Plain gradient ascent: the change is <paramref name="LearningRate"/> times the gradient.</summary>
public sealed record GradientAscent(double LearningRate) : MemorylessRule
{
    public override Tensor Change(Tensor gradient) => gradient * LearningRate;
}

/// <summary>
/// DeepDream's step: the gradient divided by its mean absolute value (per image, the first dimension), times <paramref name="StepSize"/>.
/// Every step then changes the pixels by <paramref name="StepSize"/> on average, however large or small the
/// gradient of the chosen layer happens to be, so one step size suits every layer and every network.
/// </summary>
public sealed record NormalizedGradient(double StepSize) : MemorylessRule
{
    public override Tensor Change(Tensor gradient)
    {
        using var scope = NewDisposeScope();
        var shape = Enumerable.Repeat(1L, (int)gradient.dim()).ToArray();
        shape[0] = -1;
        var meanAbsolute = gradient.abs().flatten(1).mean([1]).reshape(shape);
        return (gradient * StepSize / (meanAbsolute + 1e-12)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// <paramref name="Rule"/>'s change times a factor that falls along half a cosine, from 1 at the first step to nearly 0
/// at step <paramref name="Steps"/>: large steps early, ever smaller ones later. When every step's gradient comes from a
/// fresh random batch, steps of one size keep the result moving with the batches' noise; shrinking steps let it settle.
/// Every run counts its steps from 0.
/// </summary>
public sealed record CosineDecay(MemorylessRule Rule, int Steps) : IStepRule
{
    /// <summary>The factor of step <paramref name="step"/> (counted from 0): (1 + cos(π step / Steps)) / 2.</summary>
    public double Factor(int step) => (1 + Math.Cos(Math.PI * Math.Min(step, Steps) / Steps)) / 2;

    public IStepRun Begin(Tensor parameters)
    {
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The schedule needs at least 1 step; got {Steps}.");
        return new Run(this, parameters);
    }

    sealed class Run(CosineDecay schedule, Tensor parameters) : IStepRun
    {
        int taken;

        public void Step(Tensor gradient)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            parameters.add_(schedule.Rule.Change(gradient) * schedule.Factor(taken++));
        }

        public void Dispose() { }
    }
}

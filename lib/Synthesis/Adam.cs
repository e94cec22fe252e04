using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// Adam (Kingma and Ba, 2015) as a step rule, the optimiser Lucid uses for feature visualisation (notebook 09), run by
/// TorchSharp's own <c>torch.optim.Adam</c> (maximising). Each parameter gets its own step: the running mean of its
/// gradients divided by the running root mean square, times <paramref name="LearningRate"/>. So every parameter moves
/// by about the learning rate per step, whatever the size of its gradient, and a parameter whose gradient keeps
/// changing sign (noise from the random transforms) hardly moves. In the Fourier basis that is what makes the change
/// of the image follow the 1/f scaling.
/// </summary>
/// <param name="LearningRate">About the largest change of a parameter per step.</param>
/// <param name="Beta1">How slowly the mean of the gradients forgets (0.9: over about ten steps).</param>
/// <param name="Beta2">How slowly the mean square of the gradients forgets.</param>
/// <param name="Epsilon">Added to the root mean square, so that parameters without gradient stay put.</param>
public sealed record Adam(double LearningRate, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8) : IStepRule
{
    /// <summary>A run with running means of its own, which start at zero.</summary>
    public IStepRun Begin(Tensor parameters)
    {
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), $"The learning rate must be positive (e.g. 0.05); got {LearningRate}.");
        if (!(Beta1 >= 0 && Beta1 < 1 && Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta1), $"Both betas must lie in [0,1); got {Beta1} and {Beta2}.");
        if (!(Epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(Epsilon), $"Epsilon must be positive; got {Epsilon}.");
        return new Run(parameters, this);
    }

    /// <summary>
    /// TorchSharp's Adam over a parameter that shares the loop's tensor's memory, so that its steps change that tensor;
    /// the gradient is handed to it as the parameter's gradient.
    /// </summary>
    sealed class Run : IStepRun
    {
        readonly Parameter shared;
        readonly TorchSharp.Modules.Adam adam;

        public Run(Tensor parameters, Adam settings)
        {
            shared = new Parameter(parameters.detach(), requires_grad: true);
            adam = optim.Adam([shared], settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon, maximize: true);
        }

        public void Step(Tensor gradient)
        {
            shared.grad = gradient;
            adam.step();
        }

        public void Dispose()
        {
            adam.Dispose();
            shared.Dispose();
        }
    }
}

using System.Text.Json.Nodes;
using NotebookRunner;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// JupyterLab is the kit's second client: the same .NET Interactive kernel (tool Microsoft.dotnet-interactive, pinned in
/// .config/dotnet-tools.json), installed with `dotnet interactive jupyter install`. Two notebooks run through Jupyter's
/// own executor (`jupyter nbconvert --execute`, from Debian's jupyter-nbconvert, which environment/test.sh installs) as a
/// student's first run: in a fresh clone whose path has a space, lib and the exercise checks built by the notebook's first
/// cell inside the kernel.
/// </summary>
public class JupyterTests
{
    /// <summary>Short notebooks: the setup check, and one with both kit models and figures.</summary>
    static readonly string[] Notebooks = ["00-setup", "06-guided-backprop"];

    [Fact]
    public void Notebooks_run_in_Jupyter_from_a_fresh_clone_with_lib_built_inside_the_kernel()
    {
        var jupyter = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(dir => Path.Combine(dir, "jupyter")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Jupyter is needed for this test: run ./environment/test.sh (it installs it) or " +
                                                   "apt-get install --no-install-recommends jupyter-nbconvert.");
        using var clone = new FreshClone();
        Assert.Contains(' ', clone.Folder);
        var library = Path.Combine(clone.Folder, "lib", "bin", "WhatNetworksLearn.dll");
        var checks = Path.Combine(clone.Folder, "notebooks", "checks", "bin", "WhatNetworksLearn.Exercises.dll");
        Assert.False(File.Exists(library) || File.Exists(checks), "A fresh clone has no built lib or exercise checks.");

        // The README's route, with the kernel spec in a folder of the test's own instead of ~/.local/share/jupyter.
        var jupyterFolder = clone.Scratch("jupyter");
        var kernels = Directory.CreateDirectory(Path.Combine(jupyterFolder, "kernels")).FullName;
        var (restored, restoreOutput) = clone.Run("dotnet", ["tool", "restore"]);
        Assert.True(restored == 0, restoreOutput);
        var (installed, installOutput) = clone.Run("dotnet", ["interactive", "jupyter", "install", "--path", kernels]);
        Assert.True(installed == 0 && File.Exists(Path.Combine(kernels, ".net-csharp", "kernel.json")), installOutput);

        var executed = clone.Scratch("executed");
        var environment = new Dictionary<string, string>
        {
            ["JUPYTER_PATH"] = jupyterFolder,
            ["JUPYTER_RUNTIME_DIR"] = Path.Combine(jupyterFolder, "runtime"),
        };
        // The ImageNet branches run on announced stand-in weights, as in the notebook tests: the real ones cannot be had here.
        foreach (var (key, value) in StandInWeights.Environment(StandInWeights.Create(Path.Combine(Kit.Root(AppContext.BaseDirectory), "artifacts", "stand-in-weights"))))
            environment[key] = value;
        // One after another: kernels started at the same instant collide on .NET Interactive's HTTP port range.
        foreach (var name in Notebooks)
        {
            var (exit, output) = clone.Run(jupyter, ["nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=1200",
                "--output-dir", executed, name + ".ipynb"], Path.Combine(clone.Folder, "notebooks"), environment, Workspace.NotebookTimeout);
            Assert.True(exit == 0, $"jupyter nbconvert --execute {name}.ipynb failed:\n{output}");

            var notebook = JsonNode.Parse(File.ReadAllText(Path.Combine(executed, name + ".ipynb")))!;
            Assert.Empty(NotebookRun.ErrorsIn(notebook));
            var figures = NotebookRun.FiguresIn(notebook).ToList();
            var missing = NotebookTests.ExpectedFigures[name].Except(figures.Select(f => f.Slug)).ToList();
            Assert.True(missing.Count == 0, $"{name} in Jupyter did not show inline: {string.Join(", ", missing)}.");
            Assert.All(figures, figure => Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], figure.Png[..4]));
        }

        Assert.True(File.Exists(library) && File.Exists(checks), "The first notebook's setup cell should have built lib and the exercise checks.");
        Assert.Equal("", clone.GitStatus());
    }
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NotebookRunner;

namespace WhatNetworksLearn.Tests;

/// <summary>Every notebook runs headless in a fresh kernel and draws the figures it promises.</summary>
public class NotebookTests
{
    /// <summary>The figures (by file name, from their titles) each notebook must produce.</summary>
    static readonly Dictionary<string, string[]> ExpectedFigures = new()
    {
        ["00-setup"] = ["a-sample-photo-chelsea-the-cat", "gradient-of-a-3x3-convolution"],
    };

    static readonly string Root = Kit.Root(AppContext.BaseDirectory);
    static readonly Lazy<bool> ToolsRestored = new(() => { Workspace.RestoreTools(Root); return true; });

    public static TheoryData<string> Notebooks() =>
        new(Workspace.Notebooks(Root).Select(Path.GetFileNameWithoutExtension).Select(name => name!));

    static string PathOf(string name) => Path.Combine(Root, "notebooks", name + ".ipynb");

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Runs_headless_and_draws_its_figures(string name)
    {
        Assert.True(ExpectedFigures.ContainsKey(name), $"Add the figures {name} must produce to {nameof(ExpectedFigures)}.");
        Assert.True(ToolsRestored.Value);

        var result = NotebookRun.Execute(PathOf(name), Path.Combine(Root, "artifacts"), Workspace.NotebookTimeout);

        Assert.True(result.Succeeded, $"{name} failed:\n{string.Join("\n", result.Errors)}");
        var missing = ExpectedFigures[name].Except(result.Figures).ToList();
        Assert.True(missing.Count == 0, $"{name} did not draw: {string.Join(", ", missing)}. It drew: {string.Join(", ", result.Figures)}.");
        foreach (var figure in ExpectedFigures[name])
        {
            var png = File.ReadAllBytes(Path.Combine(Root, "artifacts", name, figure + ".png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Is_committed_without_outputs_and_opens_with_the_csharp_kernel(string name)
    {
        var notebook = JsonNode.Parse(File.ReadAllText(PathOf(name)))!;
        Assert.Equal(".net-csharp", notebook["metadata"]!["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal("csharp", notebook["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>());
        var codeCells = notebook["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.NotEmpty(codeCells);
        foreach (var cell in codeCells)
        {
            Assert.Equal("csharp", cell!["metadata"]!["polyglot_notebook"]!["kernelName"]!.GetValue<string>());
            Assert.Empty(cell["outputs"]!.AsArray());
            Assert.Null(cell["execution_count"]?.GetValue<int?>());
        }
        var first = string.Concat(codeCells[0]!["source"]!.AsArray().Select(line => line!.GetValue<string>())).Trim();
        Assert.Equal("#!import setup.dib", first);
    }

    [Fact]
    public void The_setup_cell_loads_the_pinned_versions()
    {
        var pins = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => p.Attribute("Include")!.Value, p => p.Attribute("Version")!.Value);
        var properties = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PropertyGroup").Elements()
            .GroupBy(e => e.Name.LocalName).ToDictionary(g => g.Key, g => g.First().Value);
        string Resolve(string value) => Regex.Replace(value, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]);

        var references = Regex.Matches(File.ReadAllText(Path.Combine(Root, "notebooks", "setup.dib")), "#r \"nuget: ([^,]+), ([^\"]+)\"");
        Assert.NotEmpty(references);
        foreach (Match reference in references)
            Assert.Equal(Resolve(pins[reference.Groups[1].Value]), reference.Groups[2].Value);
    }
}

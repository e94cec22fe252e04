using System.Text.Json.Nodes;
using NotebookRunner;
using WhatNetworksLearn.Exercises;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The exercise checks never throw, never show the expected answer, and tell the three states apart.</summary>
public class ExerciseTests
{
    static readonly Tensor Expected = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);

    [Fact]
    public void An_implementation_is_correct_within_the_tolerance_and_not_yet_outside_it()
    {
        Assert.Equal(ExerciseStatus.Correct, Exercise.Implementation("t", () => Expected + 1e-6f, Expected, "hint").Status);
        var wrong = Exercise.Implementation("t", () => Expected * tensor(new float[] { 1, 1, 1, 2 }).reshape(2, 2), Expected, "hint");
        Assert.Equal(ExerciseStatus.NotYet, wrong.Status);
        Assert.Contains("25 %", wrong.Message);   // one value of four differs
        Assert.Contains("hint", wrong.Message);
    }

    [Fact]
    public void A_multiple_choice_check_stops_at_no_answer_and_at_an_answer_that_is_no_choice()
    {
        Assert.True(Exercise.Unanswered("t", null, ["a", "b", "c"], out var none));
        Assert.Equal(ExerciseStatus.NotAnswered, none.Status);
        Assert.False(Exercise.Unanswered("t", " B ", ["a", "b", "c"], out var answered));
        Assert.Null(answered);
        Assert.True(Exercise.Unanswered("t", "d", ["a", "b", "c"], out var letter));
        Assert.Equal((ExerciseStatus.NotYet, "not yet: answer with one of the letters a, b or c."), (letter.Status, letter.Message));
        Assert.True(Exercise.Unanswered("t", "same", ["higher", "lower"], out var word));
        Assert.Equal("not yet: answer with \"higher\" or \"lower\".", word.Message);
    }

    [Fact]
    public void An_implementation_check_never_shows_the_expected_values()
    {
        var message = Exercise.Implementation("t", () => zeros(2, 2), tensor(new float[] { 0.125f, 0.375f, 0.625f, 0.875f }).reshape(2, 2), "hint").Message;
        foreach (var value in new[] { "0.125", "0.375", "0.625", "0.875" })
            Assert.DoesNotContain(value, message);
    }

    [Fact]
    public void Unwritten_code_is_not_answered_and_failing_code_is_told_why()
    {
        Assert.Equal(ExerciseStatus.NotAnswered, Exercise.Implementation("t", () => throw new NotImplementedException(), Expected, "h").Status);
        Assert.Equal(ExerciseStatus.NotAnswered, Exercise.Implementation("t", () => null, Expected, "h").Status);
        var threw = Exercise.Implementation("t", () => throw new ArgumentException("bad shape"), Expected, "h");
        Assert.Equal(ExerciseStatus.NotYet, threw.Status);
        Assert.Contains("bad shape", threw.Message);
        var shape = Exercise.Implementation("t", () => zeros(4), Expected, "h");
        Assert.Equal(ExerciseStatus.NotYet, shape.Status);
        Assert.Contains("[4]", shape.Message);
        Assert.Contains("[2, 2]", shape.Message);
        Assert.Equal(ExerciseStatus.NotYet, Exercise.Implementation("t", () => full(2, 2, float.NaN), Expected, "h").Status);
    }

    [Fact]
    public void A_computed_number_that_is_not_written_yet_asks_for_code_and_never_throws()
    {
        var unwritten = Exercise.Computation("t", () => throw new NotImplementedException(), 0.25, "h");
        Assert.Equal(ExerciseStatus.NotAnswered, unwritten.Status);
        Assert.Contains("write your code", unwritten.Message);
        Assert.DoesNotContain("null", unwritten.Message);   // the cell has a throw to replace, not a null
        Assert.Equal(ExerciseStatus.NotAnswered, Exercise.Computation("t", () => null, 0.25, "h").Status);
        var threw = Exercise.Computation("t", () => throw new IndexOutOfRangeException("index 7"), 0.25, "h");
        Assert.Equal(ExerciseStatus.NotYet, threw.Status);
        Assert.Contains("index 7", threw.Message);
        Assert.Equal(ExerciseStatus.Correct, Exercise.Computation("t", () => 0.25 + 1e-9, 0.25, "h", tolerance: 1e-6).Status);
        var wrong = Exercise.Computation("t", () => 0.5, 0.25, "h");
        Assert.Equal(ExerciseStatus.NotYet, wrong.Status);
        Assert.DoesNotContain("0.25", wrong.Message);
    }

    [Fact]
    public void A_computed_index_that_is_not_written_yet_asks_for_code_and_is_compared_exactly()
    {
        var unwritten = Exercise.ComputedValue<int>("t", () => throw new NotImplementedException(), 3, "h");
        Assert.Equal(ExerciseStatus.NotAnswered, unwritten.Status);
        Assert.Contains("write your code", unwritten.Message);
        Assert.DoesNotContain("replace null", unwritten.Message);
        Assert.Equal(ExerciseStatus.NotYet, Exercise.ComputedValue<int>("t", () => throw new InvalidOperationException("no units"), 3, "h").Status);
        Assert.Equal(ExerciseStatus.Correct, Exercise.ComputedValue<int>("t", () => 3, 3, "h").Status);
        var wrong = Exercise.ComputedValue<int>("t", () => 4, 3, "h");
        Assert.Equal(ExerciseStatus.NotYet, wrong.Status);
        Assert.DoesNotContain("3", wrong.Message);
    }

    [Fact]
    public void Progress_bars_are_silent_inside_a_silence_nested_or_not_and_only_there()
    {
        Assert.False(ProgressDisplay.IsSilenced);
        using (ProgressDisplay.Silence())
        {
            Assert.True(ProgressDisplay.IsSilenced);
            var inner = ProgressDisplay.Silence();
            inner.Dispose();
            inner.Dispose();   // twice: still counts once
            Assert.True(ProgressDisplay.IsSilenced);
        }
        Assert.False(ProgressDisplay.IsSilenced);
    }

    [Fact]
    public void A_prediction_is_judged_against_the_run_and_explained_either_way()
    {
        Assert.Equal(ExerciseStatus.NotAnswered, Exercise.Prediction("p", null, "c", "because").Status);
        var right = Exercise.Prediction("p", " C ", "c", "because");
        Assert.Equal(ExerciseStatus.Correct, right.Status);
        Assert.Contains("because", right.Message);
        var wrong = Exercise.Prediction("p", "a", "c", "because");
        Assert.Equal(ExerciseStatus.NotYet, wrong.Status);
        Assert.Contains("this run gives c", wrong.Message);
        Assert.Contains("because", wrong.Message);
    }

    /// <summary>
    /// Every prediction check in notebooks/checks returns "not answered" before it touches anything: called with a null
    /// prediction and null (or default) for every other argument, a check that ran the kit first would throw.
    /// </summary>
    [Fact]
    public void Every_prediction_check_runs_nothing_before_the_student_has_answered()
    {
        var checks = typeof(ModelsExercises).Assembly.GetTypes().SelectMany(type => type.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
            .Where(method => method.ReturnType == typeof(ExerciseResult) && method.GetParameters() is [{ Name: "prediction" }, ..]).ToList();
        Assert.True(checks.Count >= 20, $"found only {checks.Count} prediction checks");
        foreach (var check in checks)
        {
            var arguments = check.GetParameters().Select(p => p.HasDefaultValue ? p.DefaultValue : p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
            var verdict = (ExerciseResult)check.Invoke(null, arguments)!;
            Assert.True(verdict.Status == ExerciseStatus.NotAnswered, $"{check.DeclaringType!.Name}.{check.Name}: {verdict}");
        }
    }

    [Fact]
    public void The_html_carries_the_status_the_tests_read()
    {
        Assert.Contains("data-exercise=\"correct\"", new ExerciseResult("t", ExerciseStatus.Correct, "m").ToHtml());
        Assert.Contains("data-exercise=\"not-yet\"", new ExerciseResult("t", ExerciseStatus.NotYet, "m").ToHtml());
        Assert.Contains("data-exercise=\"not-answered\"", new ExerciseResult("t", ExerciseStatus.NotAnswered, "m").ToHtml());
    }

    static JsonObject Cell(string type, string source) => new()
    {
        ["cell_type"] = type,
        ["metadata"] = new JsonObject(),
        ["source"] = new JsonArray(source.Split('\n').Select(l => (JsonNode)JsonValue.Create(l + "\n")!).ToArray()),
    };

    [Fact]
    public void A_notebook_with_solutions_appends_each_solution_and_mistake_with_its_check()
    {
        var folder = Directory.CreateTempSubdirectory("kit-solutions-").FullName;
        try
        {
            var notebook = Path.Combine(folder, "99-demo.ipynb");
            var cells = new JsonArray(Cell("markdown", "# Demo"), Cell("code", "var x = 1;"),
                Cell("code", "// Exercise 1: write y\nint? y = null;"), Cell("code", "Check(y)"),
                Cell("markdown", "next"), Cell("code", "// Exercise 2: write z\nint? z = null;"), Cell("code", "Check(z)"));
            File.WriteAllText(notebook, new JsonObject { ["cells"] = cells }.ToJsonString());
            Directory.CreateDirectory(Path.Combine(folder, "solutions"));
            File.WriteAllText(Path.Combine(folder, "solutions", "99-demo.cs"), """
                // header
                #region Exercise 1: solution
                int? y = 2;
                #endregion
                #region Exercise 1: mistake
                int? y = 3;
                #endregion
                #region Exercise 2: solution
                int? z = 4;
                #endregion
                #region Exercise 2: mistake
                int? z = 5;
                #endregion
                """);
            var derived = Path.Combine(folder, "out", "99-demo.ipynb");
            var checks = Solutions.Derive(notebook, derived);

            var written = JsonNode.Parse(File.ReadAllText(derived))!["cells"]!.AsArray();
            string Text(int i) => string.Concat(written[i]!["source"]!.AsArray().Select(l => l!.GetValue<string>()));
            Assert.Equal(7 + 8, written.Count);
            Assert.Equal(["not-answered", "correct", "not-yet", "not-answered", "correct", "not-yet"], checks.Select(c => c.Status));
            Assert.Equal([3, 8, 10, 6, 12, 14], checks.Select(c => c.Cell));
            Assert.Equal("int? y = 2;", Text(7));
            Assert.Equal("Check(y)\n", Text(8));
            Assert.Equal("int? z = 5;", Text(13));
            Assert.Equal("Check(z)\n", Text(14));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_missing_answer_in_the_solutions_file_is_an_error_that_names_it()
    {
        var folder = Directory.CreateTempSubdirectory("kit-solutions-").FullName;
        try
        {
            var notebook = Path.Combine(folder, "98-demo.ipynb");
            File.WriteAllText(notebook, new JsonObject { ["cells"] = new JsonArray(Cell("code", "// Exercise 1: y\nint? y = null;"), Cell("code", "Check(y)")) }.ToJsonString());
            Directory.CreateDirectory(Path.Combine(folder, "solutions"));
            File.WriteAllText(Path.Combine(folder, "solutions", "98-demo.cs"), "#region Exercise 1: solution\nint? y = 2;\n#endregion\n");
            var error = Assert.Throws<InvalidDataException>(() => Solutions.Derive(notebook, Path.Combine(folder, "out.ipynb")));
            Assert.Contains("Exercise 1: mistake", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_embedding_gain_check_counts_each_images_nearest_other_image_in_both_spaces()
    {
        // Two images each of Trouser (1), Shirt (6), Sandal (5) and Bag (8), on a line. In the embedding every image's
        // nearest other image is of its class; in pixels each sandal lies nearer to a bag than to the other sandal,
        // while each bag stays nearer to the other bag, so Sandal gains most (0 % to 100 %) and no distance ties.
        int[] labels = [1, 1, 6, 6, 5, 5, 8, 8];
        var embeddings = tensor(new float[] { 10, 11, 60, 61, 50, 51, 80, 81 }).reshape(-1, 1);
        var pixels = tensor(new float[] { 10, 11, 60, 61, 78.9f, 82.3f, 80, 81 }).reshape(-1, 1);
        var right = EmbeddingsExercises.LargestGain("c", embeddings, pixels, labels);
        Assert.Equal(ExerciseStatus.Correct, right.Status);
        Assert.Contains("Sandal 0 % then 100 %", right.Message);
        Assert.Contains("most often a bag (2 of 2 times)", right.Message);
        Assert.Equal(ExerciseStatus.NotYet, EmbeddingsExercises.LargestGain("b", embeddings, pixels, labels).Status);
    }
}

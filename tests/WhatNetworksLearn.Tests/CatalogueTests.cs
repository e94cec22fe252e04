using System.Reflection;
using Catalogue;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;

namespace WhatNetworksLearn.Tests;

/// <summary>The catalogue of techniques (tests/Catalogue) is complete, so that no sweep can miss a technique.</summary>
public class CatalogueTests
{
    static readonly string[] Families = ["Attribution", "Features", "Synthesis", "Adversarial", "Classical"];

    [Fact]
    public void Every_lib_type_that_takes_a_model_is_registered()
    {
        // A technique is whatever takes a model (or an attribution method built around one) in a family of lib.
        var techniqueTypes = typeof(VisionModel).Assembly.GetExportedTypes()
            .Where(t => Families.Any(f => t.Namespace == $"WhatNetworksLearn.{f}"))
            .Where(t => t.GetConstructors().Cast<MethodBase>().Concat(t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                .Any(m => m.GetParameters().Any(p => p.ParameterType == typeof(VisionModel) || p.ParameterType == typeof(IAttribution))))
            .ToList();
        Assert.NotEmpty(techniqueTypes);
        var registered = Techniques.All.SelectMany(t => t.Types).ToHashSet();
        var missing = techniqueTypes.Where(t => !registered.Contains(t)).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, $"Register these in tests/Catalogue/Techniques.cs: {string.Join(", ", missing)}.");
    }

    [Fact]
    public void Every_attack_and_attribution_method_of_lib_is_a_family_member_so_its_contract_is_tested()
    {
        // Built, not run: what each entry's member makes around a model.
        using var model = FashionCnn.Load(TorchSharp.torch.CPU);
        var made = Techniques.All.SelectMany(t => new object?[] { t.Attack?.Make(model, 0), t.Attribution?.Make(model, 0) })
            .OfType<object>().Select(instance => instance.GetType()).ToHashSet();
        var members = typeof(VisionModel).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && !t.IsAbstract && (typeof(IAttack).IsAssignableFrom(t) || typeof(IAttribution).IsAssignableFrom(t)))
            .ToList();
        Assert.NotEmpty(members);
        var missing = members.Where(t => !made.Contains(t)).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, $"Give these an Attack or Attribution member in tests/Catalogue/Techniques.cs: {string.Join(", ", missing)}.");
    }

    [Fact]
    public void Names_are_unique_and_every_technique_can_be_run_somehow()
    {
        Assert.Equal(Techniques.All.Count, Techniques.All.Select(t => t.Name).Distinct().Count());
        foreach (var technique in Techniques.All)
            Assert.True(technique.OnImages is not null || technique.FromNothing is not null || technique.Benchmarks.Count > 0,
                $"{technique.Name} has neither a smoke call nor a benchmark.");
    }
}

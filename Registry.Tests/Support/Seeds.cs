using System.Globalization;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>Seeds for the randomised reliability tests: printed on every run, replayable through an environment variable.</summary>
public static class Seeds
{
    /// <summary>
    /// The value of <paramref name="variable"/> when set (to replay a failure), else a fresh seed; either way the
    /// seed is written to the test output so that a failing run can be replayed.
    /// </summary>
    public static int Pick(string variable)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        var seed = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var given)
            ? given
            : Random.Shared.Next();
        TestContext.Progress.WriteLine($"{TestContext.CurrentContext.Test.Name}: {variable}={seed}");
        TestContext.Out.WriteLine($"{variable}={seed} (set it to replay this run)");
        return seed;
    }
}

using System.Text;

namespace Registry.V1.Hosting;

/// <summary>The help of one verb: its usage line, what it does, and its options.</summary>
public sealed record VerbHelp(string Name, string Usage, string Summary, IReadOnlyList<(string Option, string Meaning)> Options)
{
    public string Render()
    {
        var text = new StringBuilder();
        text.Append("usage: ").Append(Usage).Append('\n').Append('\n').Append(Summary).Append('\n');
        if (Options.Count > 0)
        {
            text.Append('\n').Append("options:\n");
            var width = Options.Max(o => o.Option.Length);
            foreach (var (option, meaning) in Options) text.Append("  ").Append(option.PadRight(width)).Append("  ").Append(meaning).Append('\n');
        }
        return text.ToString();
    }
}

/// <summary>
/// The one table of the binary's verbs, with their help: <c>--help</c>/<c>-h</c> on any verb prints its help (exit 0),
/// an option the verb does not know is one line on stderr and exit 2, as POSIX utilities do (POSIX.1-2017, 'Utility
/// Conventions' and 'exit status' of getopts).
/// </summary>
public static class CommandLine
{
    private static readonly (string, string)[] HelpOption = [("-h, --help", "print this help and exit")];

    public static readonly IReadOnlyList<VerbHelp> Verbs =
    [
        new("serve", "registry [serve] [ASP.NET Core host options]",
            "Runs the registry server (the default when no verb is given). Settings come from config.yml and its\n"
            + "environment variables (SETTINGS_FLAVOR, STORAGE_PATH, REGISTRY_PORT, REGISTRY_AUTH...); see docs/configuration.md.",
            [.. HelpOption, ("--urls URL", "listen address(es), e.g. http://0.0.0.0:5000 (default: REGISTRY_HOST:REGISTRY_PORT)")]),
        new("config", "registry config",
            "Prints the resolved settings of the selected flavor, secrets masked, and exits.", HelpOption),
        new("htpasswd", "registry htpasswd -Bbn USER PASSWORD",
            "Prints one bcrypt line for an htpasswd file, like Apache's htpasswd run that way.",
            [.. HelpOption, ("-Bbn", "bcrypt, password on the command line, print instead of writing a file (required)")]),
        new("reindex", "registry reindex",
            "Rebuilds the search index from storage and prints every repository found, then a summary line.\n"
            + "Progress goes to stderr: one updating line on a terminal, one line per phase otherwise.", HelpOption),
        new("gc", "registry gc [--dry-run] [--delete-untagged]",
            "Runs one garbage collection over the configured storage and prints one line per repository and the bytes\n"
            + "freed. While a server uses the same storage, prefer POST /v1/_gc on that server.\n"
            + "Progress goes to stderr: one updating line on a terminal, one summary line otherwise.",
            [.. HelpOption, ("--dry-run", "report what would go; delete nothing"), ("--delete-untagged", "also delete v2 manifests no tag references")]),
        new("copy-index", "registry copy-index --from SQLITE_FILE_OR_URL [--replace]",
            "Copies an SQLite index database into the configured sqlalchemy_index_database (normally PostgreSQL) and prints\n"
            + "the rows copied per table. Progress goes to stderr: one updating line on a terminal, one summary line otherwise.",
            [.. HelpOption, ("--from SQLITE", "the SQLite file or sqlite:/// URL to copy from (required)"), ("--replace", "overwrite a destination that already holds accounts or repositories")]),
    ];

    public static bool IsHelp(string arg) => arg is "--help" or "-h";

    public static VerbHelp Verb(string name) => Verbs.Single(v => v.Name == name);

    /// <summary>The top-level help: the usage line and one line per verb.</summary>
    public static string Overview()
    {
        var text = new StringBuilder("usage: registry [VERB] [OPTIONS]\n\nA Docker registry (V1 and v2 APIs). Verbs:\n");
        var width = Verbs.Max(v => v.Name.Length);
        foreach (var verb in Verbs) text.Append("  ").Append(verb.Name.PadRight(width)).Append("  ").Append(verb.Summary.Split('\n')[0]).Append('\n');
        text.Append("\nregistry VERB --help prints the verb's usage and options.\n");
        return text.ToString();
    }

    /// <summary>
    /// The exit code when <paramref name="args"/> (the verb's arguments) ask for help or hold an unknown option, after
    /// printing the help or the one-line error; null when the verb should run.
    /// </summary>
    public static int? HelpOrUnknownOption(string verb, string[] args, IReadOnlySet<string> known)
    {
        if (args.Any(IsHelp))
        {
            Console.Write(Verb(verb).Render());
            return 0;
        }
        if (args.FirstOrDefault(a => a.StartsWith('-') && !known.Contains(a)) is { } unknown)
            return Usage(verb, $"unknown option {unknown}");
        return null;
    }

    /// <summary>One line on stderr naming the problem and the usage; exit code 2 (a usage error).</summary>
    public static int Usage(string verb, string problem)
    {
        Console.Error.WriteLine($"{verb}: {problem}; usage: {Verb(verb).Usage} (see registry {verb} --help)");
        return 2;
    }
}

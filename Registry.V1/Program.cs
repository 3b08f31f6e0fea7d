using Registry.Core.Configuration;
using Registry.Index.Search;
using Registry.V1.Hosting;

NativeHeap.LimitArenas();
try
{
    var rest = args.Length > 0 ? args[1..] : [];
    switch (args.FirstOrDefault())
    {
        case "--help" or "-h" or "help":
            Console.Write(CommandLine.Overview());
            return 0;
        case "config" when CommandLine.HelpOrUnknownOption("config", rest, new HashSet<string>()) is { } code:
            return code;
        case "reindex" when CommandLine.HelpOrUnknownOption("reindex", rest, new HashSet<string>()) is { } code:
            return code;
        case "serve" when rest.Any(CommandLine.IsHelp):
            Console.Write(CommandLine.Verb("serve").Render());
            return 0;
        case "serve":
            await RegistryApp.RunAsync(await RegistryApp.BuildAsync(rest));
            return 0;
        case "config":
            Console.Write(ConfigPrinter.Render(RegistryApp.LoadSettings(RegistryApp.ReadEnvironment())));
            return 0;
        case "htpasswd":
            return Verbs.Htpasswd(args[1..]);
        case "reindex":
            return await Verbs.ReindexAsync();
        case "copy-index":
            return await Verbs.CopyIndexAsync(args[1..]);
        case "gc":
            return await Verbs.GcAsync(args[1..]);
        default:
            await RegistryApp.RunAsync(await RegistryApp.BuildAsync(args));
            return 0;
    }
}
// Every start-up failure is one line naming the setting and its variable, and exit code 1.
catch (Exception e) when (e is ConfigException or SearchIndexException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

/// <summary>Entry point; public so the tests' WebApplicationFactory can host the real app.</summary>
public partial class Program;

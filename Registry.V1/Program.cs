using Registry.Core.Configuration;
using Registry.Index.Search;
using Registry.V1.Hosting;

try
{
    switch (args.FirstOrDefault())
    {
        case "config":
            Console.Write(ConfigPrinter.Render(RegistryApp.LoadSettings(RegistryApp.ReadEnvironment())));
            return 0;
        case "htpasswd":
            return Verbs.Htpasswd(args[1..]);
        case "reindex":
            return await Verbs.ReindexAsync();
        case "gc":
            return await Verbs.GcAsync(args[1..]);
        default:
            var app = await RegistryApp.BuildAsync(args);
            await app.RunAsync();
            return 0;
    }
}
catch (ConfigException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
catch (SearchIndexException e)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}

/// <summary>Entry point; public so the tests' WebApplicationFactory can host the real app.</summary>
public partial class Program;

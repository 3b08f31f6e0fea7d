using Registry.Core.Configuration;
using Registry.Core.Maintenance;
using Registry.Core.Storage;
using Registry.Index;
using Registry.Index.Database;
using Registry.Index.Database.Sqlite;
using Registry.Index.Accounts;
using Registry.Index.Search;
using Registry.V1.Maintenance;

namespace Registry.V1.Hosting;

/// <summary>Command-line verbs besides serving.</summary>
public static class Verbs
{
    /// <summary>
    /// <c>htpasswd -Bbn USER PASS</c>: prints one bcrypt htpasswd line, like Apache's tool run that way.
    /// </summary>
    public static int Htpasswd(string[] args)
    {
        if (args.Any(CommandLine.IsHelp))
        {
            Console.Write(CommandLine.Verb("htpasswd").Render());
            return 0;
        }
        var flags = args.Where(a => a.StartsWith('-')).SelectMany(a => a[1..]).ToHashSet();
        var operands = args.Where(a => !a.StartsWith('-')).ToArray();
        if (flags.FirstOrDefault(f => !"Bbn".Contains(f)) is var unknown && unknown != default)
            return CommandLine.Usage("htpasswd", $"unknown option -{unknown}");
        if (!flags.SetEquals("Bbn") || operands.Length != 2 || operands[0].Length == 0 || operands[0].Contains(':'))
            return CommandLine.Usage("htpasswd", "needs -Bbn, a user name without ':' and a password");
        Console.WriteLine(HtpasswdFile.Line(operands[0], operands[1]));
        return 0;
    }

    /// <summary>
    /// <c>reindex</c>: rebuilds the search index from storage and prints what it found (stdout), with its
    /// progress on stderr (<see cref="ReindexProgress"/>). A corrupt database
    /// file is moved aside (<c>&lt;file&gt;.corrupt-&lt;time&gt;</c>) and a fresh one created.
    /// </summary>
    public static async Task<int> ReindexAsync()
    {
        var settings = RegistryApp.LoadSettings(RegistryApp.ReadEnvironment());
        if (!settings.SearchEnabled)
        {
            Console.Error.WriteLine($"search is disabled in flavor \"{settings.Flavor}\" (search_backend); nothing to rebuild");
            return 1;
        }
        var path = IndexDatabase.Describe(settings);
        await IndexDatabase.RecreateAsync(settings, CancellationToken.None);
        await using var services = await BuildServicesAsync(settings);
        var storage = services.GetRequiredService<IStorageDriver>();
        var progress = ReindexProgress.ForConsole($"{storage.Kind} storage {settings.StoragePath}", path);
        var entries = await services.GetRequiredService<RepositoryCatalog>().RebuildAsync(CancellationToken.None, progress);
        // Console.Out flushes every line: a million lines would be a million writes.
        await using (var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 1 << 16))
        {
            foreach (var entry in entries)
                stdout.WriteLine((entry.Private ? "(private) " : "") + (entry.Description.Length > 0 ? $"{entry.Name}\t{entry.Description}" : entry.Name));
            stdout.WriteLine($"reindexed {entries.Count} repositories from {storage.Kind} storage {settings.StoragePath} into {path}");
        }
        return 0;
    }

    /// <summary>
    /// <c>gc [--dry-run] [--delete-untagged]</c>: one garbage collection run over the configured storage; prints one line
    /// per repository and the bytes freed (or that would be). Against a storage a server is using at the same time,
    /// only the grace window and the storage lock protect that server's pushes (its coordinator is in its own
    /// process); prefer <c>POST /v1/_gc</c> there.
    /// </summary>
    public static async Task<int> GcAsync(string[] args)
    {
        var known = new HashSet<string>(StringComparer.Ordinal) { "--dry-run", "--delete-untagged" };
        if (CommandLine.HelpOrUnknownOption("gc", args, known) is { } code) return code;
        if (args.FirstOrDefault(a => !known.Contains(a)) is { } extra) return CommandLine.Usage("gc", $"unexpected argument {extra}");
        var settings = RegistryApp.LoadSettings(RegistryApp.ReadEnvironment());
        await using var services = await BuildServicesAsync(settings);
        var collector = services.GetRequiredService<GarbageCollector>();
        var progress = ConsoleProgress.ForConsole("gc", "items");
        var result = await collector.RunAsync(new GcOptions(args.Contains("--dry-run"), args.Contains("--delete-untagged")), CancellationToken.None, progress);
        if (result.Report is not { } report)
        {
            Console.Error.WriteLine($"another garbage collection is running: {result.Holder}");
            return 1;
        }
        progress.Finish();
        Console.Write(report.ToText());
        return 0;
    }

    /// <summary>
    /// <c>copy-index --from SQLITE [--replace]</c>: copies an SQLite index database (a file path or
    /// <c>sqlite:///</c> URL) into the configured <c>sqlalchemy_index_database</c>, normally PostgreSQL, and prints
    /// one line per table with the rows copied. A destination holding accounts or repositories is refused unless
    /// <c>--replace</c>.
    /// </summary>
    public static async Task<int> CopyIndexAsync(string[] args)
    {
        if (CommandLine.HelpOrUnknownOption("copy-index", args, new HashSet<string>(StringComparer.Ordinal) { "--from", "--replace" }) is { } code)
            return code;
        var from = args.Length >= 2 && args[0] == "--from" ? args[1] : null;
        var rest = args.Skip(2).ToArray();
        if (from is null || rest.Any(a => a != "--replace"))
            return CommandLine.Usage("copy-index", "--from SQLITE_FILE_OR_URL comes first");
        var settings = RegistryApp.LoadSettings(RegistryApp.ReadEnvironment());
        string sourcePath;
        try
        {
            sourcePath = SearchDatabaseLocation.Parse(from, Directory.GetCurrentDirectory());
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"copy-index --from: {e.Message.Replace(" (Parameter 'value')", "", StringComparison.Ordinal)}");
            return 1;
        }
        // Opening an absent SQLite file would create an empty one and copy nothing.
        if (!File.Exists(sourcePath))
        {
            Console.Error.WriteLine($"copy-index --from: no SQLite index database at {sourcePath}");
            return 1;
        }
        var destinationName = IndexDatabase.Describe(settings);
        if (string.Equals(destinationName, sourcePath, StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"copy-index: {sourcePath} is the configured index database itself");
            return 1;
        }

        var source = await SqliteIndexDatabase.OpenAsync(sourcePath, CancellationToken.None);
        var destination = await IndexDatabase.OpenAsync(settings, CancellationToken.None);
        try
        {
            var progress = ConsoleProgress.ForConsole("copy-index", "rows");
            var result = await IndexCopy.CopyAsync(source, destination, args.Contains("--replace"), CancellationToken.None, progress);
            if (result.Copied is not { } copied)
            {
                Console.Error.WriteLine($"{destinationName} already holds accounts or repositories; add --replace to overwrite them");
                return 1;
            }
            progress.Finish();
            Console.WriteLine($"accounts: {copied.Accounts}");
            Console.WriteLine($"image memberships: {copied.ImageMemberships}");
            Console.WriteLine($"private repositories: {copied.PrivateRepositories}");
            Console.WriteLine($"search repositories: {copied.SearchRepositories}");
            Console.WriteLine($"webhooks: {copied.Webhooks}");
            Console.WriteLine($"stars: {copied.Stars}");
            Console.WriteLine($"comments: {copied.Comments}");
            Console.WriteLine($"copied {sourcePath} into {destinationName}");
            return 0;
        }
        finally
        {
            if (destination is IAsyncDisposable disposable) await disposable.DisposeAsync();
        }
    }

    /// <summary>The host's services, without the host: the verbs print their results and log nothing.</summary>
    private static async Task<ServiceProvider> BuildServicesAsync(RegistrySettings settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        await RegistryApp.AddRegistryAsync(services, settings, CancellationToken.None);
        return services.BuildServiceProvider();
    }
}

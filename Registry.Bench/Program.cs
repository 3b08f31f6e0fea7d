using Registry.Bench.Search;

// One subcommand per benchmark; each parses its own options.
return args.Length == 0
    ? Usage()
    : args[0] switch
    {
        "search-index" => await SearchIndexBench.RunAsync(args[1..]),
        _ => Usage(),
    };

static int Usage()
{
    Console.Error.WriteLine("usage: Registry.Bench <benchmark> [options]\n  search-index [--sizes 100000,1000000] [--out file]");
    return 2;
}

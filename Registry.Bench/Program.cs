using Registry.Bench.Http;
using Registry.Bench.Search;

// Each subcommand owns its options; this switch only dispatches on the first argument.
return args.Length == 0
    ? Usage()
    : args[0] switch
    {
        "layer" => await LayerBenchmark.RunAsync(args[1..]),
        "download" => await DownloadBenchmark.RunAsync(args[1..]),
        "bursts" => await BurstBenchmark.RunAsync(args[1..]),
        "layer-s3" => await Registry.Bench.S3.LayerS3Benchmark.RunAsync(args[1..]),
        "small-reads" => await SmallReadsBenchmark.RunAsync(args[1..]),
        "upload-ceiling" => await UploadCeilingBenchmark.RunAsync(args[1..]),
        "s3-peers" => await Registry.Bench.S3.S3PeersBenchmark.RunAsync(args[1..]),
        "search-http" => await SearchHttpBenchmark.RunAsync(args[1..]),
        "search-index" => await SearchIndexBench.RunAsync(args[1..]),
        "soak" => await SoakBenchmark.RunAsync(args[1..]),
        "gc" => await Registry.Bench.Maintenance.GcBenchmark.RunAsync(args[1..]),
        "gc-s3" => await Registry.Bench.Maintenance.GcS3Benchmark.RunAsync(args[1..]),
        "reindex" => await Registry.Bench.Reindex.ReindexBenchmark.RunAsync(args[1..]),
        "file-cache" => await FileCacheBenchmark.RunAsync(args[1..]),
        "mirror" => await MirrorBenchmark.RunAsync(args[1..]),
        "ui" => await Registry.Bench.Web.UiBenchmark.RunAsync(args[1..]),
        BaselineServer.Command => await BaselineServer.RunAsync(args[1..]),
        _ => Usage(),
    };

static int Usage()
{
    Console.Error.WriteLine("usage: Registry.Bench <command> [options]");
    Console.Error.WriteLine("  layer        " + LayerBenchmark.OptionsHelp);
    Console.Error.WriteLine("  download     " + DownloadBenchmark.OptionsHelp);
    Console.Error.WriteLine("  bursts       " + BurstBenchmark.OptionsHelp);
    Console.Error.WriteLine("  s3-peers     " + Registry.Bench.S3.S3PeersBenchmark.OptionsHelp);
    Console.Error.WriteLine("  search-http  " + SearchHttpBenchmark.OptionsHelp);
    Console.Error.WriteLine("  small-reads  " + SmallReadsBenchmark.OptionsHelp);
    Console.Error.WriteLine("  upload-ceiling " + UploadCeilingBenchmark.OptionsHelp);
    Console.Error.WriteLine("  search-index [--sizes 100000,1000000] [--engines sqlite,postgres] [--pg-url url] [--out file] [--keep dir]");
    Console.Error.WriteLine("  gc           " + Registry.Bench.Maintenance.GcBenchmark.OptionsHelp);
    Console.Error.WriteLine("  gc-s3        " + Registry.Bench.Maintenance.GcS3Benchmark.OptionsHelp);
    Console.Error.WriteLine("  file-cache   " + FileCacheBenchmark.OptionsHelp);
    Console.Error.WriteLine("  mirror       " + MirrorBenchmark.OptionsHelp);
    Console.Error.WriteLine("  reindex      " + Registry.Bench.Reindex.ReindexBenchmark.OptionsHelp);
    Console.Error.WriteLine("  ui           " + Registry.Bench.Web.UiBenchmark.OptionsHelp);
    return 1;
}

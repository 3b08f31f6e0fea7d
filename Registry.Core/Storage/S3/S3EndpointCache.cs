using System.Collections.Concurrent;
using Amazon.Runtime.Endpoints;
using Amazon.S3.Endpoints;

namespace Registry.Core.Storage;

/// <summary>
/// The S3 client's endpoint provider with its answers remembered. The SDK evaluates the S3 endpoint rule set (Smithy
/// rules, 'Amazon S3 endpoint rule set') for every request, ~0.1 ms each, although its answer depends only on the
/// client's settings and the bucket: the rule set declares <c>Key</c>, <c>Prefix</c> and <c>CopySource</c> but no rule
/// reads them, so those three are left out of the cache key. A driver uses one bucket, so the cache holds a few entries;
/// past <see cref="MaxEntries"/> answers are computed without being kept. Each request gets a copy of the answer.
/// </summary>
internal sealed class S3EndpointCache(IEndpointProvider inner) : IEndpointProvider
{
    private const int MaxEntries = 64;

    private readonly ConcurrentDictionary<Key, Endpoint> _endpoints = new();

    public Endpoint ResolveEndpoint(EndpointParameters parameters)
    {
        if (parameters is not S3EndpointParameters p) return inner.ResolveEndpoint(parameters);
        var key = new Key(p.Bucket, p.Region, p.Endpoint, p.UseFIPS, p.UseDualStack, p.ForcePathStyle, p.Accelerate, p.UseGlobalEndpoint,
            p.UseObjectLambdaEndpoint, p.DisableAccessPoints, p.DisableMultiRegionAccessPoints, p.UseArnRegion, p.UseS3ExpressControlEndpoint,
            p.DisableS3ExpressSessionAuth);
        if (!_endpoints.TryGetValue(key, out var known))
        {
            known = inner.ResolveEndpoint(parameters);
            if (_endpoints.Count >= MaxEntries || !_endpoints.TryAdd(key, known)) return known;
        }
        return Copy(known);
    }

    // The client rewrites the URL of the endpoint it is given while it builds a request: a shared instance broke the
    // signature of every request after the first. The auth schemes and headers are shared.
    private static Endpoint Copy(Endpoint known) => new(known.URL) { Attributes = known.Attributes, Headers = known.Headers };

    private readonly record struct Key(
        string? Bucket, string? Region, string? Endpoint, bool? UseFips, bool? UseDualStack, bool? ForcePathStyle, bool? Accelerate,
        bool? UseGlobalEndpoint, bool? UseObjectLambdaEndpoint, bool? DisableAccessPoints, bool? DisableMultiRegionAccessPoints,
        bool? UseArnRegion, bool? UseS3ExpressControlEndpoint, bool? DisableS3ExpressSessionAuth);
}

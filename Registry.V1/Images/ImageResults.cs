namespace Registry.V1.Images;

public enum PutJsonResult { Ok, InvalidJson, MissingId, IdMismatch, ParentMissing, AlreadyExists }

public enum PutLayerResult { Ok, ImageNotFound, AlreadyExists }

public enum PutChecksumResult { Ok, ImageNotFound, CannotSet, Mismatch }

/// <summary>What <c>GET …/json</c> serves: the raw document, the layer size if any, the stored checksums.</summary>
public sealed record ImageJson(byte[] Json, long? LayerSize, IReadOnlyList<string> Checksums);

/// <summary>An open layer: the byte count and a way to stream it.</summary>
public sealed record LayerInfo(long Size, string? PhysicalPath);

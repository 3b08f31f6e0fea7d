namespace Registry.Core.Storage;

/// <summary>A storage key that is malformed or would leave the storage root.</summary>
public sealed class StoragePathException(string message) : ArgumentException(message);

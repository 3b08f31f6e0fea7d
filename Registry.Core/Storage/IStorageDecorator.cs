namespace Registry.Core.Storage;

/// <summary>
/// A storage driver that wraps another one (the Redis file cache): callers that need a capability of the real
/// driver (a physical path, presigned URLs) find it through <see cref="StorageDriverExtensions.Find{T}"/>.
/// </summary>
public interface IStorageDecorator
{
    IStorageDriver Inner { get; }
}

public static class StorageDriverExtensions
{
    /// <summary>The driver itself or the first driver it wraps that is a <typeparamref name="T"/>; null when none is.</summary>
    public static T? Find<T>(this IStorageDriver storage) where T : class
    {
        for (var driver = storage; ; driver = ((IStorageDecorator)driver).Inner)
        {
            if (driver is T found) return found;
            if (driver is not IStorageDecorator) return null;
        }
    }
}

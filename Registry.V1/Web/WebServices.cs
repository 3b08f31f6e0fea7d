namespace Registry.V1.Web;

/// <summary>Registers the web interface's services (README, 'Web interface').</summary>
public static class WebServices
{
    /// <summary>Needs the Core, Index, V1 and v2 registrations.</summary>
    public static IServiceCollection AddRegistryWeb(this IServiceCollection services)
    {
        services.AddSingleton<UiAssets>();
        services.AddSingleton<UiSessionService>();
        services.AddSingleton<UiAccess>();
        services.AddSingleton<UiSearch>();
        services.AddSingleton<RepositoryBrowser>();
        return services;
    }
}

# The registry as a container image (README.md, 'Container image'):
#   docker build -t registry .
#   docker run -d -p 5000:5000 -v registry-data:/var/lib/registry registry
# Data (storage and the SQLite index database) lives in /var/lib/registry, as in registry:2. The server runs as the
# unprivileged user "registry" (uid 10001): a host directory mounted there must be writable by that uid
# (chown 10001:10001 DIR); a named volume is set up right by docker itself.
# BUILD_IMAGE and RUNTIME_IMAGE are the .NET SDK and ASP.NET Core runtime images; any Debian or Ubuntu based
# equivalents (dotnet on PATH, useradd present) work too, which is how the tests build it offline.
ARG BUILD_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
# Framework-dependent, no native launcher: the runtime image brings dotnet.
RUN dotnet publish Registry.V1/Registry.V1.csproj -c Release -o /app -p:UseAppHost=false

FROM ${RUNTIME_IMAGE}
RUN groupadd --system --gid 10001 registry \
    && useradd --system --uid 10001 --gid registry --home-dir /var/lib/registry --no-create-home --shell /usr/sbin/nologin registry \
    && mkdir -p /var/lib/registry \
    && chown registry:registry /var/lib/registry
COPY --from=build /app /app

# The settings README.md documents, with the container's defaults: the sample config's dev flavor (as the original
# image), data on the volume, every address on port 5000. REGISTRY_AUTH=htpasswd with REGISTRY_AUTH_HTPASSWD_PATH
# (e.g. a file mounted under /auth) turns on Basic auth. The ASP.NET images' own port variable is cleared so that
# REGISTRY_HOST/REGISTRY_PORT decide.
ENV DOCKER_REGISTRY_CONFIG=/app/config_sample.yml \
    SETTINGS_FLAVOR=dev \
    LOGLEVEL=info \
    STORAGE_PATH=/var/lib/registry \
    SQLALCHEMY_INDEX_DATABASE=sqlite:////var/lib/registry/docker-registry.db \
    REGISTRY_HOST=0.0.0.0 \
    REGISTRY_PORT=5000 \
    ASPNETCORE_HTTP_PORTS=

VOLUME /var/lib/registry
EXPOSE 5000
USER registry
WORKDIR /app
ENTRYPOINT ["dotnet", "/app/Registry.V1.dll"]

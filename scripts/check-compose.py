#!/usr/bin/python3
"""Static checks of docker-compose.yml and the Dockerfiles it builds, for machines without a Docker engine.

`docker-compose config` proves the file parses and interpolates; this proves it points at real things:

- every build context, Dockerfile and bind-mounted file exists in the repository, and every named volume is
  declared;
- every COPY/ADD source of those Dockerfiles exists in its build context and is not excluded by the context's
  .dockerignore;
- every path mounted into a container is one that container uses: named in its image's build files, or the
  directory of a path in its environment;
- every variable the app service sets (in the compose file and in its Dockerfile's ENV) is one the app reads,
  parsed from libs/ldap-auth/src/config/ldap-environment.ts and src/config/app.config.ts;
- JWT_SECRET comes from the environment, required (${JWT_SECRET:?...}), never a value in the file; every
  variable the file interpolates is listed in .env.example; ports are published on 127.0.0.1 only.

Run by scripts/test-all.sh with Debian's python3 (the interpreter of Debian's docker-compose, which brings
PyYAML). Usage: check-compose.py [docker-compose.yml]
"""

import fnmatch
import glob
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("check-compose: PyYAML is missing (Debian: apt-get install python3-yaml, which docker-compose brings)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP_SERVICE = "app"
LDAP_ENV_FILE = "libs/ldap-auth/src/config/ldap-environment.ts"
APP_ENV_FILE = "src/config/app.config.ts"

problems = []
notes = []


def rel(path):
    return os.path.relpath(path, ROOT)


def problem(text):
    problems.append(text)


# --- Variables the app reads, parsed from its sources ---------------------------------------------------------


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def ldap_variables():
    """Properties of `class LdapEnvironmentVariables { ... }`: the library reads exactly those."""
    text = read(LDAP_ENV_FILE)
    match = re.search(r"export class LdapEnvironmentVariables \{(.*?)\n\}", text, re.S)
    if not match:
        problem(f"{LDAP_ENV_FILE}: class LdapEnvironmentVariables not found (update scripts/check-compose.py)")
        return set()
    return set(re.findall(r"^\s+([A-Z][A-Z0-9_]*)\??:\s*string", match.group(1), re.M))


def app_variables():
    """env.NAME, env['NAME'] and helpers called with 'NAME' as first argument (wholePositive('NAME', ...))."""
    text = read(APP_ENV_FILE)
    names = set(re.findall(r"\benv\.([A-Z][A-Z0-9_]*)\b", text))
    names |= set(re.findall(r"\benv\[\s*['\"]([A-Z][A-Z0-9_]*)['\"]\s*\]", text))
    names |= set(re.findall(r"\w\(\s*'([A-Z][A-Z0-9_]*)'\s*,", text))
    return names


# --- Dockerfiles ----------------------------------------------------------------------------------------------


def dockerfile_instructions(path):
    """(instruction, arguments) pairs: comments dropped, continuation lines joined."""
    instructions, current = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("#") or (not stripped and not current):
                continue
            if stripped.endswith("\\"):
                current += stripped[:-1] + " "
                continue
            current += stripped
            if current:
                word, _, rest = current.partition(" ")
                instructions.append((word.upper(), rest.strip()))
            current = ""
    return instructions


def dockerignore_patterns(context):
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def ignored(relative, patterns):
    """Docker's rules, simplified: a pattern matches the path or a parent of it; '!' re-includes."""
    relative = os.path.normpath(relative)
    parts = relative.split(os.sep)
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = os.path.normpath(pattern.lstrip("!").lstrip("/"))
        for i in range(1, len(parts) + 1):
            prefix = os.sep.join(parts[:i])
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**" + os.sep) and fnmatch.fnmatchcase(prefix, pattern[3:])
            ):
                result = not negate
                break
    return result


def check_dockerfile(service, context, dockerfile):
    """COPY/ADD sources exist in the context and survive .dockerignore; returns (final stage's ENV names, files)."""
    patterns = dockerignore_patterns(context)
    final_env = set()
    build_files = [dockerfile]
    for word, args in dockerfile_instructions(dockerfile):
        if word == "FROM":
            final_env = set()  # only the last stage's ENV reaches the container
        elif word == "ENV":
            final_env |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args))
        elif word in ("COPY", "ADD"):
            tokens = args.split()
            if any(t.startswith("--from=") for t in tokens):
                continue
            tokens = [t for t in tokens if not t.startswith("--")]
            if tokens and tokens[0].startswith("["):
                problem(f"{rel(dockerfile)}: JSON-form {word} not supported by this check: {args}")
                continue
            for source in tokens[:-1]:
                matches = glob.glob(os.path.join(context, source))
                if not matches:
                    problem(f"{rel(dockerfile)}: {word} {source}: no such file in the build context {rel(context)}")
                for found in matches:
                    if ignored(os.path.relpath(found, context), patterns):
                        problem(f"{rel(dockerfile)}: {word} {source}: excluded by {rel(context)}/.dockerignore")
                    if os.path.isfile(found):
                        build_files.append(found)
    notes.append(f"{service}: {rel(dockerfile)}, its COPY sources exist in {rel(context) or '.'}/")
    return final_env, build_files


# --- The compose file -----------------------------------------------------------------------------------------


def mounts(service):
    """(kind, source, target) of each volume entry, short or long syntax."""
    result = []
    for entry in service.get("volumes", []) or []:
        if isinstance(entry, dict):
            kind = entry.get("type", "volume")
            result.append((kind, entry.get("source"), entry.get("target")))
            continue
        parts = entry.split(":")
        if len(parts) == 1:
            result.append(("anonymous", None, parts[0]))
            continue
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        result.append((kind, source, target))
    return result


def main():
    compose_path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docker-compose.yml"))
    compose_dir = os.path.dirname(compose_path)
    with open(compose_path, encoding="utf-8") as f:
        raw = f.read()
    compose = yaml.safe_load(raw)
    services = compose.get("services") or {}
    declared_volumes = set((compose.get("volumes") or {}).keys())
    if APP_SERVICE not in services:
        problem(f"{rel(compose_path)}: no service named {APP_SERVICE!r}")

    app_reads = ldap_variables() | app_variables()
    if len(ldap_variables()) < 20 or len(app_variables()) < 8:
        problem(
            f"found only {len(ldap_variables())} variables in {LDAP_ENV_FILE} and {len(app_variables())} in "
            f"{APP_ENV_FILE}: the parser no longer matches those files (update scripts/check-compose.py)"
        )

    for name, service in services.items():
        image_env, build_files = set(), []
        build = service.get("build")
        if build is not None:
            context_rel = build if isinstance(build, str) else build.get("context", ".")
            dockerfile_rel = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            context = os.path.normpath(os.path.join(compose_dir, context_rel))
            dockerfile = os.path.normpath(os.path.join(context, dockerfile_rel))
            if not os.path.isdir(context):
                problem(f"{name}: build context {context_rel} is not a directory")
            elif not os.path.isfile(dockerfile):
                problem(f"{name}: Dockerfile {rel(dockerfile)} does not exist")
            else:
                image_env, build_files = check_dockerfile(name, context, dockerfile)
        elif "image" not in service:
            problem(f"{name}: neither build nor image")

        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
        env_values = [str(v) for v in environment.values() if v is not None]
        build_text = ""
        for path in build_files:
            with open(path, encoding="utf-8", errors="replace") as f:
                build_text += f.read()

        for kind, source, target in mounts(service):
            if kind == "bind":
                path = os.path.normpath(os.path.join(compose_dir, os.path.expanduser(source)))
                if not os.path.exists(path):
                    problem(f"{name}: bind mount source {source} does not exist")
                else:
                    notes.append(f"{name}: mounts {source} (exists)")
            elif kind == "volume" and source not in declared_volumes:
                problem(f"{name}: named volume {source} is not declared under volumes:")
            if target and build_files:
                used = target in build_text or os.path.dirname(target) in build_text
                used = used or any(v == target or v.startswith(target.rstrip("/") + "/") for v in env_values)
                if not used:
                    problem(f"{name}: mounts {target}, which its image's build files and environment never name")

        for port in service.get("ports", []) or []:
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            if host_ip != "127.0.0.1" or (isinstance(port, str) and port.count(":") < 2):
                problem(f"{name}: port {port} is not published on 127.0.0.1 only")

        if name == APP_SERVICE:
            unknown = sorted((set(environment) | image_env) - app_reads)
            if unknown:
                problem(
                    f"{name}: sets {', '.join(unknown)}, which the app never reads "
                    f"(not in {LDAP_ENV_FILE} nor {APP_ENV_FILE})"
                )
            notes.append(
                f"{name}: {len(environment)} variables in the compose file and {len(image_env)} in its image "
                f"({', '.join(sorted(image_env))}), all read by the app"
            )
            secret = environment.get("JWT_SECRET")
            if secret is None:
                problem(f"{name}: JWT_SECRET is not set (the app refuses to start without it in production)")
            elif not re.fullmatch(r"\$\{JWT_SECRET:\?[^}]*\}", str(secret)):
                problem(f"{name}: JWT_SECRET must be ${{JWT_SECRET:?...}} (required from the environment), not {secret!r}")

    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", raw))
    example_path = os.path.join(compose_dir, ".env.example")
    if not os.path.exists(example_path):
        problem(".env.example does not exist")
    else:
        with open(example_path, encoding="utf-8") as f:
            listed = set(re.findall(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", f.read(), re.M))
        missing = sorted(interpolated - listed)
        if missing:
            problem(f".env.example does not list {', '.join(missing)}, which {rel(compose_path)} interpolates")

    for note in notes:
        print(f"  ok  {note}")
    if problems:
        print(f"{rel(compose_path)}: {len(problems)} problem(s):", file=sys.stderr)
        for text in problems:
            print(f"  - {text}", file=sys.stderr)
        sys.exit(1)
    print(f"{rel(compose_path)}: paths, mounts, ports and the app's variables check out")


main()

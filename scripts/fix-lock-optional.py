#!/usr/bin/env python3
"""Adds lock entries for optional platform packages the registry here does not serve.

npm records @swc/core-darwin-arm64 & co. as optionalDependencies of their parent but, when the
registry answers 404 for them, writes no entry of their own, and `npm ci` then refuses the lock
("Missing: … from lock file"). An entry with the platform's os/cpu and "optional": true is skipped
by npm on every other platform without being fetched. Run after `npm install`."""
import json, re, sys

OS = {'darwin': 'darwin', 'linux': 'linux', 'win32': 'win32', 'android': 'android', 'freebsd': 'freebsd', 'openharmony': 'openharmony', 'wasm32': None}
CPU = {'arm64': 'arm64', 'x64': 'x64', 'ia32': 'ia32', 'arm': 'arm', 'ppc64': 'ppc64', 's390x': 's390x', 'riscv64': 'riscv64', 'loong64': 'loong64'}

path = sys.argv[1] if len(sys.argv) > 1 else 'package-lock.json'
lock = json.load(open(path))
pkgs = lock['packages']
added = 0
for key, meta in list(pkgs.items()):
    for name, spec in (meta.get('optionalDependencies') or {}).items():
        entry = f'node_modules/{name}'
        if entry in pkgs:
            continue
        os_ = next((v for k, v in OS.items() if re.search(rf'[-/]{k}(-|$)', name)), None)
        cpu = next((v for k, v in CPU.items() if re.search(rf'-{k}(-|$)', name)), None)
        new = {'version': re.sub(r'^[\^~=]', '', spec), 'optional': True}
        if os_: new['os'] = [os_]
        if cpu: new['cpu'] = [cpu]
        if '-musl' in name: new['libc'] = ['musl']
        elif '-gnu' in name: new['libc'] = ['glibc']
        if not os_ and not cpu: new['cpu'] = ['wasm32']  # e.g. *-wasm32-wasi bindings: never installed natively
        pkgs[entry] = new
        added += 1
json.dump(lock, open(path, 'w'), indent=2)
open(path, 'a').write('\n')
print(f'added {added} optional platform entries')

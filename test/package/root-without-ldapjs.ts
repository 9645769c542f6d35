/**
 * Run by scripts/check-package.sh in the scratch app, in a process of its own: importing the package's root
 * must not load ldapjs (only `./testing` needs it). ldapjs is CommonJS, so once loaded it sits in the CommonJS
 * module cache, even when ESM imported it. The second half proves that detector works: importing `./testing`
 * must load it. With `--absent`, ldapjs is not installed: the root must still load, `./testing` must not.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ldapjsLoaded = (): boolean =>
  Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]ldapjs[\\/]/.test(file));

const absent = process.argv.includes('--absent');

const root = await import('@nest-ldap-auth/ldap-auth');
if (typeof root.LdapAuthModule !== 'function') throw new Error('the root did not export LdapAuthModule');
if (ldapjsLoaded()) throw new Error('importing the root loaded ldapjs');

if (absent) {
  const failure = await import('@nest-ldap-auth/ldap-auth/testing').then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error,
  );
  if (failure?.code !== 'ERR_MODULE_NOT_FOUND' || !failure.message.includes('ldapjs'))
    throw new Error(`./testing without ldapjs: expected ERR_MODULE_NOT_FOUND naming ldapjs, got ${String(failure)}`);
  console.log('without ldapjs installed: the root loads, ./testing fails naming ldapjs');
} else {
  await import('@nest-ldap-auth/ldap-auth/testing');
  if (!ldapjsLoaded()) throw new Error('importing ./testing did not load ldapjs: the check above proves nothing');
  console.log('the root loads without ldapjs; ./testing loads it');
}

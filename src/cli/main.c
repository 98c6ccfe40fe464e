/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c: the coffer CLI entry point: option parsing, the one command
 * table (help and dispatch both come from it), connection and login
 * handling, error reporting and the rc -> exit status mapping.
 *
 * Passwords are never options: they come from a no-echo prompt, a file or
 * an environment variable (pass.c), live in the secure heap and are wiped
 * after use.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "coffer/coffer_objects.h"
#include "cli.h"

struct cli_optdef {
	const char *name;
	int has_arg;
	int id;
	const char *metavar;
	const char *help;
};

static const struct cli_optdef optdefs[] = {
	{ "config", 1, OPT_CONFIG, "FILE",
	  "client configuration (default: $COFFER_CONFIG, ./coffer.json, "
	  "/etc/coffer/client.json)" },
	{ "server", 1, OPT_SERVER, "HOST:PORT",
	  "node to talk to, instead of the configuration's servers "
	  "(repeatable)" },
	{ "ca", 1, OPT_CA, "FILE",
	  "customer CA certificate: the trust anchor the node certificate is "
	  "verified against (for 'ca sign': the CA directory)" },
	{ "pin", 1, OPT_PIN, "SHA256",
	  "pin the node's bootstrap certificate fingerprint (before "
	  "initialization)" },
	{ "json", 0, OPT_JSON, NULL, "print one JSON document" },
	{ "user", 1, OPT_USER, "NAME",
	  "log in as NAME (default $COFFER_USER) for commands that need it" },
	{ "password-file", 1, OPT_PASSWORD_FILE, "FILE",
	  "read the login password from the first line of FILE" },
	{ "password-env", 1, OPT_PASSWORD_ENV, "VAR",
	  "read the login password from environment variable VAR "
	  "(default COFFER_PASSWORD, else prompt)" },
	{ "new-password-file", 1, OPT_NEW_PASSWORD_FILE, "FILE",
	  "read a new password (user create, change-password, activate) "
	  "from FILE" },
	{ "new-password-env", 1, OPT_NEW_PASSWORD_ENV, "VAR",
	  "read a new password from environment variable VAR" },
	{ "quiet", 0, OPT_QUIET, NULL, "print only results, no progress" },
	{ "help", 0, OPT_HELP, NULL, "show help" },
	{ "version", 0, OPT_VERSION, NULL, "show the version" },
	{ "out", 1, OPT_OUT, "PATH",
	  "output file (for 'ca create': the directory)" },
	{ "cn", 1, OPT_CN, "NAME", "common name of the CA" },
	{ "days", 1, OPT_DAYS, "N", "validity in days" },
	{ "csr", 1, OPT_CSR, "FILE", "certificate signing request (PEM)" },
	{ "cert", 1, OPT_CERT, "FILE", "signed cluster certificate (PEM)" },
	{ "role", 1, OPT_ROLE, "ROLE", "co, cu or au" },
	{ "co-user", 1, OPT_CO_USER, "NAME",
	  "name of the first crypto officer" },
	{ "from", 1, OPT_FROM, "SEQ", "first record (1-based)" },
	{ "bits", 1, OPT_BITS, "N", "key size in bits" },
	{ "exponent", 1, OPT_EXPONENT, "E",
	  "RSA public exponent (default 65537)" },
	{ "label", 1, OPT_LABEL, "LABEL",
	  "the key's label (CKA_LABEL); where a key is used, selects it" },
	{ "id", 1, OPT_ID, "HEX",
	  "the key's identifier (CKA_ID) in hex; where a key is used, "
	  "selects it" },
	{ "class", 1, OPT_CLASS, "CLASS",
	  "object class: secret, private, public or data" },
	{ "session", 0, OPT_SESSION, NULL,
	  "session object (CKA_TOKEN false): lives on one node and dies "
	  "with the connection (use it inside 'coffer shell')" },
	{ "extractable", 0, OPT_EXTRACTABLE, NULL,
	  "the key may leave the HSM, wrapped (CKA_EXTRACTABLE; default "
	  "false)" },
	{ "attr", 1, OPT_ATTR, "NAME=VALUE",
	  "set an attribute (repeatable), e.g. sign=false, "
	  "end-date=20301231; for a key pair, prefix pub. or priv. to "
	  "choose one half" },
	{ "curve", 1, OPT_CURVE, "CURVE", "elliptic curve" },
	{ "bytes", 1, OPT_BYTES, "N", "length in bytes" },
	{ "key", 1, OPT_KEY, "KEY",
	  "the key: a handle, or (if not a number) a label" },
	{ "wrapping-key", 1, OPT_WRAPPING_KEY, "KEY",
	  "the wrapping key: a handle or a label" },
	{ "unwrapping-key", 1, OPT_UNWRAPPING_KEY, "KEY",
	  "the unwrapping key: a handle or a label" },
	{ "key-type", 1, OPT_KEY_TYPE, "TYPE",
	  "key type: aes, generic, rsa, ec or ed" },
	{ "mech", 1, OPT_MECH, "MECH", "mechanism (see 'coffer crypto "
	  "--help')" },
	{ "in", 1, OPT_IN, "FILE",
	  "input file ('-' or absent: standard input)" },
	{ "sig", 1, OPT_SIG, "FILE", "signature file" },
	{ "iv", 1, OPT_IV, "HEX",
	  "initialization vector in hex (default: made by the HSM, or "
	  "read from the input's start when decrypting)" },
	{ "aad", 1, OPT_AAD, "FILE", "AES-GCM additional authenticated data" },
	{ "tag-bits", 1, OPT_TAG_BITS, "N",
	  "AES-GCM tag length in bits (default 128)" },
	{ "der", 0, OPT_DER, NULL, "DER instead of PEM" },
	{ "hex", 0, OPT_HEX, NULL, "print the bytes in hex" },
	{ "raw", 0, OPT_RAW, NULL,
	  "ECDSA signatures as r||s (the PKCS#11 form) instead of DER" },
};
#define NOPTDEFS (sizeof(optdefs) / sizeof(optdefs[0]))

/* Options of every command that makes a key. */
#define KEYGEN_OPTS (OPTB(OPT_LABEL) | OPTB(OPT_ID) | OPTB(OPT_SESSION) | \
	OPTB(OPT_EXTRACTABLE) | OPTB(OPT_ATTR))
/* Options that select the key of an operation. */
#define KEYSEL_OPTS (OPTB(OPT_KEY) | OPTB(OPT_LABEL) | OPTB(OPT_ID))

static const char ca_help[] =
"The development CA is a convenience for tests and labs: an EC P-256 key\n"
"(ca.key, mode 0600) and a self-signed certificate (ca.crt) in one\n"
"directory. With a real CA, do the same with openssl:\n"
"\n"
"  # a CA (skip if you have one)\n"
"  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n"
"      -keyout ca.key -out ca.crt -days 3650 -subj '/CN=My Coffer CA' \\\n"
"      -addext basicConstraints=critical,CA:TRUE \\\n"
"      -addext keyUsage=critical,keyCertSign,cRLSign\n"
"\n"
"  # sign the cluster CSR from 'coffer cluster init'\n"
"  cat > server.ext <<EOF\n"
"  basicConstraints=critical,CA:FALSE\n"
"  keyUsage=critical,digitalSignature\n"
"  extendedKeyUsage=serverAuth\n"
"  subjectKeyIdentifier=hash\n"
"  authorityKeyIdentifier=keyid\n"
"  EOF\n"
"  openssl x509 -req -in cluster.csr -CA ca.crt -CAkey ca.key \\\n"
"      -CAcreateserial -days 825 -sha256 -copy_extensions copy \\\n"
"      -extfile server.ext -out cluster.crt\n"
"  openssl verify -CAfile ca.crt cluster.crt\n"
"\n"
"Then: coffer cluster initialize --cert cluster.crt --ca ca.crt ...";

static const char cluster_help[] =
"The initialization ceremony of a fresh node (it prints its bootstrap\n"
"fingerprint and writes a one-time PRECO password in its data directory):\n"
"\n"
"  coffer cluster fingerprint --server H:P     # compare with the node's\n"
"  coffer ca create --out ca                   # or use your own CA\n"
"  coffer cluster init --server H:P --pin FP --out cluster.csr\n"
"  coffer ca sign --ca ca --csr cluster.csr --out cluster.crt\n"
"  coffer cluster initialize --server H:P --pin FP --user preco \\\n"
"      --cert cluster.crt --ca ca/ca.crt\n"
"  coffer cluster activate --server H:P --ca ca/ca.crt --user preco \\\n"
"      --co-user admin";

static const char key_help[] =
"KEY, --key, --wrapping-key and --unwrapping-key take a handle (a\n"
"number) or a label; --label and --id (hex) also select keys where one\n"
"is used. A selection matching several objects is an error naming\n"
"their handles (give a handle, or --class/--id).\n"
"\n"
"Keys are token objects (they survive restarts and are replicated)\n"
"unless --session is given: a session key lives on one node and dies\n"
"with the connection, so it is useful inside 'coffer shell'.\n"
"\n"
"Keys belong to the crypto user who made them. The owner may use,\n"
"modify, share, unshare, wrap and delete a key; users it is shared with\n"
"may only use it. Crypto officers and appliance users cannot see or use\n"
"keys.\n"
"\n"
"  coffer key generate-aes --bits 256 --label k1 --user alice\n"
"  coffer key generate-rsa --bits 3072 --label signer --id 01\n"
"  coffer key list --class private\n"
"  coffer key export-public signer --out signer.pem";

static const char crypto_help[] =
"Select the key with --key KEY (a handle or a label) or --label/--id;\n"
"of a key pair, the right half is chosen for the operation. Input is\n"
"--in FILE (or standard input, '-'); output --out FILE (or standard\n"
"output). Large inputs are streamed to the HSM, without a size limit.\n"
"With --json, results are printed as hex in one JSON document.\n"
"\n"
"  coffer crypto sign --label signer --mech rsa-pss-sha256 \\\n"
"      --in doc.pdf --out doc.sig\n"
"  openssl dgst -sha256 -sigopt rsa_padding_mode:pss \\\n"
"      -sigopt rsa_pss_saltlen:-1 -verify signer.pem \\\n"
"      -signature doc.sig doc.pdf\n"
"  coffer crypto encrypt --key k1 --mech aes-gcm --in a --out a.enc\n"
"  coffer crypto decrypt --key k1 --mech aes-gcm --in a.enc --out a";

/*
 * The command table: the single source of help and dispatch.
 * group  name  handler  login  flags  options  required  args(min,max,
 * synopsis)  summary  help
 */
const struct cli_cmd cli_cmds[] = {
	{ "ca", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "development customer CA", ca_help, NULL },
	{ "ca", "create", cmd_ca_create, CLI_LOGIN_NO, 0,
	  OPTB(OPT_OUT) | OPTB(OPT_CN) | OPTB(OPT_DAYS), OPTB(OPT_OUT),
	  0, 0, NULL,
	  "create a development CA (ca.key, ca.crt) in --out DIR",
	  "Creates DIR (mode 0700) holding ca.key (EC P-256, PKCS#8 PEM, mode\n"
	  "0600) and ca.crt (self-signed, CA:TRUE). Refuses to overwrite an\n"
	  "existing ca.key. --cn defaults to \"Coffer development CA\",\n"
	  "--days to 3650.", "out=DIR" },
	{ "ca", "sign", cmd_ca_sign, CLI_LOGIN_NO, CLI_F_CA_PAYLOAD,
	  OPTB(OPT_CA) | OPTB(OPT_CSR) | OPTB(OPT_OUT) | OPTB(OPT_DAYS),
	  OPTB(OPT_CA) | OPTB(OPT_CSR) | OPTB(OPT_OUT), 0, 0, NULL,
	  "sign a CSR as a server certificate with the CA in --ca DIR",
	  "Verifies the CSR's signature, copies its subject and\n"
	  "subjectAltName, and issues a certificate with extendedKeyUsage\n"
	  "serverAuth, keyUsage digitalSignature and CA:FALSE, signed with\n"
	  "SHA-256 by DIR/ca.key. Never valid beyond the CA's own expiry.\n"
	  "--days defaults to 825.", "ca=DIR out=FILE" },

	{ "cluster", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "cluster ceremony and status", cluster_help, NULL },
	{ "cluster", "fingerprint", cmd_cluster_fingerprint, CLI_LOGIN_NO, 0,
	  0, 0, 0, 0, NULL,
	  "print the SHA-256 fingerprint of a node's TLS certificate",
	  "Fetches the certificate of --server (or the configuration's first\n"
	  "server) without trusting it. Compare with the fingerprint the node\n"
	  "printed before passing it to --pin.", NULL },
	{ "cluster", "init", cmd_cluster_init, CLI_LOGIN_NO, CLI_F_CONNECT,
	  OPTB(OPT_OUT), OPTB(OPT_OUT), 0, 0, NULL,
	  "fetch the cluster's CSR into --out FILE",
	  "Connects with --pin (the bootstrap fingerprint) and writes the CSR\n"
	  "of the cluster identity key. Sign it with your CA (coffer ca\n"
	  "sign).", "out=FILE" },
	{ "cluster", "initialize", cmd_cluster_initialize, CLI_LOGIN_YES,
	  CLI_F_CONNECT | CLI_F_CA_PAYLOAD, OPTB(OPT_CERT),
	  OPTB(OPT_CERT) | OPTB(OPT_CA), 0, 0, NULL,
	  "install the signed cluster certificate and the trust anchor",
	  "Logs in as the PRECO (--user preco; the password the node wrote in\n"
	  "its data directory) over the pinned connection and installs --cert\n"
	  "and the trust anchor --ca FILE. Afterwards the node presents the\n"
	  "signed certificate and clients verify it against --ca.", NULL },
	{ "cluster", "activate", cmd_cluster_activate, CLI_LOGIN_YES,
	  CLI_F_CONNECT | CLI_F_NEWPW, OPTB(OPT_CO_USER), OPTB(OPT_CO_USER), 0, 0, NULL,
	  "replace the PRECO by the first crypto officer",
	  "Logged in as the PRECO, creates crypto officer --co-user NAME with\n"
	  "a new password (prompted twice, or --new-password-file/-env); the\n"
	  "PRECO ceases to exist and the cluster becomes ACTIVE.", NULL },
	{ "cluster", "info", cmd_cluster_info, CLI_LOGIN_NO, CLI_F_CONNECT,
	  0, 0, 0, 0, NULL, "show the state of the node",
	  "State, cluster and raft status, users, token and session objects\n"
	  "against the limit, power-up self-test result, entropy source and\n"
	  "random generator health. No login needed.", NULL },

	{ "hsm", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "the HSM node itself", NULL, NULL },
	{ "hsm", "info", cmd_cluster_info, CLI_LOGIN_NO, CLI_F_CONNECT,
	  0, 0, 0, 0, NULL, "same as cluster info",
	  "Same as 'coffer cluster info' (CloudHSM's getHsmInfo).", NULL },

	{ "user", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "HSM users (crypto officers CO, crypto users CU, appliance users AU)",
	  NULL, NULL },
	{ "user", "create", cmd_user_create, CLI_LOGIN_YES,
	  CLI_F_CONNECT | CLI_F_NEWPW,
	  OPTB(OPT_ROLE), OPTB(OPT_ROLE), 1, 1, "NAME",
	  "create a user (CO only)",
	  "The new password is prompted twice, or read with\n"
	  "--new-password-file FILE or --new-password-env VAR.", NULL },
	{ "user", "delete", cmd_user_delete, CLI_LOGIN_YES, CLI_F_CONNECT,
	  0, 0, 1, 1, "NAME", "delete a user (CO only)", NULL, NULL },
	{ "user", "list", cmd_user_list, CLI_LOGIN_YES, CLI_F_CONNECT,
	  0, 0, 0, 0, NULL, "list users", NULL, NULL },
	{ "user", "change-password", cmd_user_change_password, CLI_LOGIN_YES,
	  CLI_F_CONNECT | CLI_F_NEWPW, 0, 0, 0, 1, "[NAME]",
	  "change your password, or (CO) another user's",
	  "Without NAME, changes the logged-in user's password. Only a CO\n"
	  "may change another user's password.", NULL },
	{ "user", "lock", cmd_user_lock, CLI_LOGIN_YES, CLI_F_CONNECT,
	  0, 0, 1, 1, "NAME", "lock a user (CO only)", NULL, NULL },
	{ "user", "unlock", cmd_user_unlock, CLI_LOGIN_YES, CLI_F_CONNECT,
	  0, 0, 1, 1, "NAME", "unlock a user and reset its failures (CO only)",
	  NULL, NULL },

	{ "audit", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "the hash-chained audit log", NULL, NULL },
	{ "audit", "export", cmd_audit_export, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_OUT) | OPTB(OPT_FROM), 0, 0, 0, NULL,
	  "export audit records as JSON lines (CO, AU)",
	  "Writes records --from SEQ (default 1) to the node's head into\n"
	  "--out FILE (mode 0600), or to standard output.", "out=FILE" },
	{ "audit", "verify", cmd_audit_verify, CLI_LOGIN_ONLINE, 0,
	  0, 0, 0, 1, "[FILE]", "verify the audit chain",
	  "With FILE, verifies an exported file offline (no node needed):\n"
	  "every record's hash, sequence and link to the previous one.\n"
	  "Without FILE, exports the whole log from the node (login needed)\n"
	  "and also checks that it ends at the node's head, which detects\n"
	  "deleted newest records. Exit 0 if intact, 1 with the first bad\n"
	  "line and the reason otherwise.", NULL },

	{ "key", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "keys inside the HSM (crypto users own and use them)", key_help,
	  NULL },
	{ "key", "generate-rsa", cmd_key_generate_rsa, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYGEN_OPTS | OPTB(OPT_EXPONENT),
	  OPTB(OPT_BITS) | OPTB(OPT_LABEL), 0, 0, NULL,
	  "generate an RSA key pair (2048..4096 bits, steps of 256)",
	  "The public key may verify, encrypt and wrap; the private key is\n"
	  "sensitive and may sign, decrypt and unwrap. --exponent defaults to\n"
	  "65537. Prints the two handles.", NULL },
	{ "key", "generate-ec", cmd_key_generate_ec, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYGEN_OPTS | OPTB(OPT_CURVE),
	  OPTB(OPT_CURVE) | OPTB(OPT_LABEL), 0, 0, NULL,
	  "generate an EC key pair (p224, p256, p384, p521, secp256k1)",
	  "The private key may sign and derive (ECDH); the public key may\n"
	  "verify.", "curve=p224|p256|p384|p521|secp256k1" },
	{ "key", "generate-ed", cmd_key_generate_ed, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYGEN_OPTS | OPTB(OPT_CURVE), OPTB(OPT_LABEL),
	  0, 0, NULL, "generate an EdDSA key pair (ed25519, ed448)",
	  "--curve defaults to ed25519.", "curve=ed25519|ed448" },
	{ "key", "generate-aes", cmd_key_generate_aes, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYGEN_OPTS, OPTB(OPT_BITS) | OPTB(OPT_LABEL), 0, 0,
	  NULL, "generate an AES key (128, 192 or 256 bits)",
	  "The key is sensitive and may encrypt, decrypt, wrap, unwrap, sign\n"
	  "and verify (CMAC); --extractable lets it be wrapped.",
	  "bits=128|192|256" },
	{ "key", "generate-secret", cmd_key_generate_secret, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYGEN_OPTS, OPTB(OPT_BYTES) | OPTB(OPT_LABEL), 0, 0,
	  NULL, "generate a generic secret (HMAC) key of 1..800 bytes",
	  "The key is sensitive and may sign and verify (HMAC) and derive.",
	  NULL },
	{ "key", "list", cmd_key_list, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_LABEL) | OPTB(OPT_ID) | OPTB(OPT_CLASS) |
	  OPTB(OPT_KEY_TYPE) | OPTB(OPT_ATTR), 0, 0, 0, NULL,
	  "list the keys you can see, optionally filtered",
	  "Columns: handle, class, key type, label, id (hex), size (bits, or\n"
	  "the curve), owner, flags (token or session, sens = sensitive,\n"
	  "extr = extractable, then the permitted uses). --attr NAME=VALUE\n"
	  "filters on any attribute. Crypto users see their own keys and\n"
	  "those shared with them.", NULL },
	{ "key", "show", cmd_key_show, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_LABEL) | OPTB(OPT_ID) | OPTB(OPT_CLASS), 0, 0, 1, "[KEY]",
	  "show every readable attribute of a key",
	  "KEY is a handle or a label; or select with --label/--id/--class.\n"
	  "Sensitive values are never shown: the node does not return them.",
	  NULL },
	{ "key", "delete", cmd_key_delete, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_LABEL) | OPTB(OPT_ID) | OPTB(OPT_CLASS), 0, 0, 1, "[KEY]",
	  "delete a key (its owner only)",
	  "KEY is a handle or a label; or select with --label/--id/--class.\n"
	  "A label naming both halves of a key pair is ambiguous: give\n"
	  "--class or a handle.", NULL },
	{ "key", "share", cmd_key_share, CLI_LOGIN_YES, CLI_F_CONNECT,
	  0, 0, 2, 2, "KEY USER",
	  "let crypto user USER use a key (its owner only)",
	  "A user a key is shared with may use it, but not modify, share,\n"
	  "wrap or delete it.", NULL },
	{ "key", "unshare", cmd_key_unshare, CLI_LOGIN_YES, CLI_F_CONNECT,
	  0, 0, 2, 2, "KEY USER", "stop sharing a key with USER", NULL, NULL },
	{ "key", "set-attribute", cmd_key_set_attribute, CLI_LOGIN_YES,
	  CLI_F_CONNECT, 0, 0, 2, 17, "KEY NAME=VALUE...",
	  "change attributes of a key (its owner only)",
	  "E.g. label=new, sign=false, end-date=20301231. Read-only\n"
	  "attributes, and any attribute of a key that is not modifiable,\n"
	  "are refused by the node.", NULL },
	{ "key", "wrap", cmd_key_wrap, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_OUT), OPTB(OPT_WRAPPING_KEY) | OPTB(OPT_KEY) |
	  OPTB(OPT_MECH), 0, 0, NULL,
	  "export an extractable key encrypted under a wrapping key",
	  "MECH: aes-kw (RFC 3394), aes-kwp (RFC 5649), aes-gcm (the node's\n"
	  "12-byte IV || ciphertext || tag), rsa-oaep[-sha224|256|384|512]\n"
	  "(MGF1 with the same hash; rsa-oaep is SHA-1), rsa-pkcs,\n"
	  "rsa-aes-kw[-sha256|384|512] (CKM_RSA_AES_KEY_WRAP, 256-bit AES).\n"
	  "Private keys wrap as PKCS#8. Writes --out FILE (mode 0600) or\n"
	  "standard output; with --json and no --out, the bytes in hex.",
	  "mech=MECH out=FILE" },
	{ "key", "unwrap", cmd_key_unwrap, CLI_LOGIN_YES, CLI_F_CONNECT,
	  KEYGEN_OPTS | OPTB(OPT_IN), OPTB(OPT_UNWRAPPING_KEY) |
	  OPTB(OPT_MECH) | OPTB(OPT_CLASS) | OPTB(OPT_KEY_TYPE) |
	  OPTB(OPT_LABEL), 0, 0, NULL,
	  "import a wrapped key (from --in FILE) as a new key",
	  "The new key gets --label, --id and --attr; it is sensitive, and\n"
	  "extractable only with --extractable. As PKCS#11 requires, it is\n"
	  "neither always-sensitive nor never-extractable. MECH as for\n"
	  "'key wrap'.", "class=secret|private mech=MECH" },
	{ "key", "import-public", cmd_key_import_public, CLI_LOGIN_YES,
	  CLI_F_CONNECT, OPTB(OPT_IN) | OPTB(OPT_ID) | OPTB(OPT_SESSION) |
	  OPTB(OPT_ATTR), OPTB(OPT_LABEL), 0, 0, NULL,
	  "import a public key (PEM or DER SubjectPublicKeyInfo)",
	  "RSA, EC (the curves of generate-ec), Ed25519 and Ed448. An RSA\n"
	  "key may verify, encrypt and wrap; others verify.", "in=FILE" },
	{ "key", "export-public", cmd_key_export_public, CLI_LOGIN_YES,
	  CLI_F_CONNECT, OPTB(OPT_OUT) | OPTB(OPT_DER) | OPTB(OPT_LABEL) |
	  OPTB(OPT_ID), 0, 0, 1, "[KEY]",
	  "write a public key as PEM (or --der) SubjectPublicKeyInfo",
	  "KEY (a handle or a label) or --label/--id select the key; of a\n"
	  "key pair, the public half is taken. Output to --out FILE or\n"
	  "standard output.", "out=FILE" },

	{ "crypto", NULL, NULL, 0, 0, 0, 0, 0, 0, NULL,
	  "cryptographic operations with keys inside the HSM", crypto_help,
	  NULL },
	{ "crypto", "sign", cmd_crypto_sign, CLI_LOGIN_YES, CLI_F_CONNECT,
	  KEYSEL_OPTS | OPTB(OPT_IN) | OPTB(OPT_OUT) | OPTB(OPT_HEX) |
	  OPTB(OPT_RAW), OPTB(OPT_MECH), 0, COFFER_SIGN_MANY_MAX, "[FILE...]",
	  "sign (or MAC) --in FILE; the signature to --out FILE",
	  "MECH: rsa-pkcs-sha1|224|256|384|512, rsa-pss-sha1|...|512 (MGF1\n"
	  "with the same hash, salt = hash length), ecdsa-sha1|...|512,\n"
	  "eddsa, hmac-sha1|224|256|384|512, aes-cmac; single-part on\n"
	  "pre-hashed input: rsa-pkcs (DigestInfo), rsa-pss (SHA-256\n"
	  "parameters), rsa-x-509, ecdsa. Of a key pair, the private half is\n"
	  "used. With FILE operands (up to 256, each at most 1 MiB), all are\n"
	  "signed in one pipelined call and each signature goes to\n"
	  "--out DIR as NAME.sig (NAME: the file's base name).",
	  "mech=MECH out=FILE" },
	{ "crypto", "verify", cmd_crypto_verify, CLI_LOGIN_YES, CLI_F_CONNECT,
	  KEYSEL_OPTS | OPTB(OPT_IN) | OPTB(OPT_RAW),
	  OPTB(OPT_MECH) | OPTB(OPT_SIG), 0, 0, NULL,
	  "verify the signature --sig FILE of --in FILE",
	  "Exit status 0 if the signature is valid, 1 (\"signature invalid\")\n"
	  "if not. ECDSA signatures may be DER or r||s. Of a key pair, the\n"
	  "public half is used.", "mech=MECH out=FILE" },
	{ "crypto", "encrypt", cmd_crypto_encrypt, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYSEL_OPTS | OPTB(OPT_IN) | OPTB(OPT_OUT) |
	  OPTB(OPT_IV) | OPTB(OPT_AAD) | OPTB(OPT_TAG_BITS), OPTB(OPT_MECH),
	  0, 0, NULL, "encrypt --in FILE to --out FILE",
	  "MECH: aes-gcm, aes-cbc-pad (PKCS#7), aes-cbc and aes-ecb (whole\n"
	  "blocks), aes-ctr (128-bit counter), rsa-oaep[-sha224|256|384|512],\n"
	  "rsa-pkcs, rsa-x-509. Without --iv, the output starts with the IV:\n"
	  "aes-gcm writes the node's 12-byte IV || ciphertext || tag;\n"
	  "aes-cbc, aes-cbc-pad and aes-ctr write a 16-byte random IV ||\n"
	  "ciphertext. With --iv, only the ciphertext (|| tag) is written.",
	  "mech=MECH out=FILE" },
	{ "crypto", "decrypt", cmd_crypto_decrypt, CLI_LOGIN_YES,
	  CLI_F_CONNECT, KEYSEL_OPTS | OPTB(OPT_IN) | OPTB(OPT_OUT) |
	  OPTB(OPT_IV) | OPTB(OPT_AAD) | OPTB(OPT_TAG_BITS), OPTB(OPT_MECH),
	  0, 0, NULL, "decrypt --in FILE to --out FILE",
	  "The input format is the one 'crypto encrypt' writes: without\n"
	  "--iv, the IV is read from its start. --out is written only if\n"
	  "decryption succeeds (mode 0600). Every padding or tag failure is\n"
	  "the same error, \"encrypted data invalid\".", "mech=MECH out=FILE" },
	{ "crypto", "hmac", cmd_crypto_hmac, CLI_LOGIN_YES, CLI_F_CONNECT,
	  KEYSEL_OPTS | OPTB(OPT_MECH) | OPTB(OPT_IN) | OPTB(OPT_OUT) |
	  OPTB(OPT_HEX) | OPTB(OPT_SIG), 0, 0, 0, NULL,
	  "compute (or with --sig, check) a MAC",
	  "As 'crypto sign' with MECH hmac-sha1|224|256|384|512 or aes-cmac\n"
	  "(default hmac-sha256). With --sig FILE, verifies the MAC instead\n"
	  "(exit 1 if it does not match).", "mech=MECH sig=FILE out=FILE" },
	{ "crypto", "random", cmd_crypto_random, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_OUT) | OPTB(OPT_HEX), OPTB(OPT_BYTES), 0, 0, NULL,
	  "random bytes from the HSM's DRBG",
	  "Raw bytes to --out FILE or standard output; --hex prints hex.",
	  "out=FILE" },
	{ "crypto", "digest", cmd_crypto_digest, CLI_LOGIN_YES, CLI_F_CONNECT,
	  OPTB(OPT_MECH) | OPTB(OPT_IN) | OPTB(OPT_OUT), 0, 0, 0, NULL,
	  "hash --in FILE inside the HSM",
	  "MECH: sha1, sha224, sha256 (default), sha384, sha512, sha3-224,\n"
	  "sha3-256, sha3-384, sha3-512. Prints the digest in hex, or writes\n"
	  "the raw bytes to --out FILE.", "mech=MECH out=FILE" },

	{ "login", NULL, cmd_login, CLI_LOGIN_NO, CLI_F_SESSION, 0, 0, 0, 1,
	  "[NAME]",
	  "log in and keep the session (starts the shell)",
	  "Outside the shell, starts the interactive shell logged in as NAME\n"
	  "(or --user). Inside the shell, logs in for the following commands.\n"
	  "The password is prompted (no echo) unless --password-file or\n"
	  "--password-env is given.", NULL },
	{ "logout", NULL, cmd_logout, CLI_LOGIN_NO, CLI_F_SESSION, 0, 0, 0, 0,
	  NULL,
	  "end the shell's session", NULL, NULL },
	{ "shell", NULL, cmd_shell, CLI_LOGIN_NO, 0, 0, 0, 0, 0, NULL,
	  "interactive shell with line editing and history",
	  "Commands are typed without the 'coffer' prefix; 'help' lists them,\n"
	  "'quit' or 'exit' leaves. History is kept in ~/.coffer_history.\n"
	  "With --user, logs in first.", NULL },
	{ "help", NULL, cmd_help, CLI_LOGIN_NO, 0, 0, 0, 0, 2,
	  "[COMMAND [SUBCOMMAND]]", "show help for a command", NULL, NULL },
	{ "version", NULL, cmd_version, CLI_LOGIN_NO, CLI_F_HIDDEN, 0, 0, 0, 0,
	  NULL, "show the version", NULL, NULL },
	{ "quit", NULL, cmd_quit, CLI_LOGIN_NO, CLI_F_SHELL, 0, 0, 0, 0, NULL,
	  "leave the shell", NULL, NULL },
	{ "exit", NULL, cmd_quit, CLI_LOGIN_NO, CLI_F_SHELL | CLI_F_HIDDEN,
	  0, 0, 0, 0, NULL, "leave the shell", NULL, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

/* The one mapping of result codes to exit statuses. */
int
cli_exit_status(int rc)
{
	switch (rc) {
	case COFFER_OK:
		return CLI_EXIT_OK;
	case CLI_E_USAGE:
	case COFFER_E_CONFIG:
		return CLI_EXIT_USAGE;
	case COFFER_E_CONNECT:
	case COFFER_E_TLS:
	case COFFER_E_TIMEOUT:
	case COFFER_E_CLOSED:
		return CLI_EXIT_CONN;
	case COFFER_E_AUTH:
	case COFFER_E_LOCKED:
	case COFFER_E_NOTLOGGEDIN:
		return CLI_EXIT_AUTH;
	default:
		return CLI_EXIT_FAIL;
	}
}

const char *
cli_cmd_name(const struct cli_cmd *cmd, char *buf, size_t len)
{
	if (cmd == NULL)
		snprintf(buf, len, "coffer");
	else if (cmd->name == NULL)
		snprintf(buf, len, "%s", cmd->group);
	else
		snprintf(buf, len, "%s %s", cmd->group, cmd->name);
	return buf;
}

int
cli_fail(struct cli *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return rc;
}

int
cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return CLI_E_USAGE;
}

void
cli_info(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->o.quiet || c->o.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void
cli_json_print(json_t *j)
{
	if (j == NULL) {
		fprintf(stderr, "coffer: out of memory\n");
		return;
	}
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(j);
}

int
cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return COFFER_E_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return COFFER_E_INVAL;
	*out = v;
	return 0;
}

static const struct cli_optdef *
optdef(int id)
{
	size_t i;

	for (i = 0; i < NOPTDEFS; i++)
		if (optdefs[i].id == id)
			return &optdefs[i];
	return NULL;
}

/* The option's argument name for this command ("out=DIR" overrides). */
static const char *
metavar(const struct cli_cmd *cmd, const struct cli_optdef *d, char *buf,
    size_t len)
{
	const char *p = cmd ? cmd->metavars : NULL;
	size_t n = strlen(d->name), i;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, d->name, n) == 0 && p[n] == '=') {
			p += n + 1;
			for (i = 0; i + 1 < len && p[i] != '\0' && p[i] != ' ';
			    i++)
				buf[i] = p[i];
			buf[i] = '\0';
			return buf;
		}
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	}
	return d->metavar ? d->metavar : "";
}

/* Prints text at column col (the cursor is there), wrapping before column
 * 80 with continuation lines indented to column `indent`. */
static void
print_wrapped(FILE *f, int col, int indent, const char *text)
{
	const char *p = text, *sp;
	bool first = true;
	int w;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		w = sp ? (int)(sp - p) : (int)strlen(p);
		if (!first && col + 1 + w > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		first = false;
		fprintf(f, "%.*s", w, p);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* --- parsing --------------------------------------------------------- */

int
cli_parse(int argc, char **argv, struct cli_opts *o, int *first)
{
	struct option lo[NOPTDEFS + 1];
	const char *arg;
	size_t i;
	int ch, idx;

	for (i = 0; i < NOPTDEFS; i++) {
		lo[i].name = optdefs[i].name;
		lo[i].has_arg = optdefs[i].has_arg ? required_argument :
		    no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + optdefs[i].id;
	}
	lo[NOPTDEFS] = (struct option){ 0 };

	optind = 0;	/* GNU: full re-initialization (the shell reparses) */
	opterr = 0;
	for (;;) {
		idx = -1;
		ch = getopt_long(argc, argv, "hqV", lo, &idx);
		if (ch == -1)
			break;
		arg = optarg;
		switch (ch) {
		case 'h':
			ch = 256 + OPT_HELP;
			break;
		case 'q':
			ch = 256 + OPT_QUIET;
			break;
		case 'V':
			ch = 256 + OPT_VERSION;
			break;
		case ':':
		case '?':
			if (optopt >= 256)
				fprintf(stderr, "coffer: option '--%s' "
				    "needs an argument\n",
				    optdef(optopt - 256)->name);
			else if (optopt != 0)
				fprintf(stderr, "coffer: unknown option "
				    "'-%c'\n", optopt);
			else
				fprintf(stderr, "coffer: unknown option '%s'\n",
				    argv[optind - 1]);
			fprintf(stderr, "Try 'coffer --help'.\n");
			return CLI_E_USAGE;
		default:
			break;
		}
		ch -= 256;
		if (ch < 0 || ch >= OPT__COUNT)
			return CLI_E_USAGE;
		o->seen |= OPTB(ch);
		switch (ch) {
		case OPT_CONFIG: o->config = arg; break;
		case OPT_SERVER:
			if (o->nservers >= CLI_MAX_SERVERS) {
				fprintf(stderr, "coffer: too many --server\n");
				return CLI_E_USAGE;
			}
			o->servers[o->nservers++] = arg;
			break;
		case OPT_CA: o->ca = arg; break;
		case OPT_PIN: o->pin = arg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_USER: o->user = arg; break;
		case OPT_PASSWORD_FILE: o->password_file = arg; break;
		case OPT_PASSWORD_ENV: o->password_env = arg; break;
		case OPT_NEW_PASSWORD_FILE: o->new_password_file = arg; break;
		case OPT_NEW_PASSWORD_ENV: o->new_password_env = arg; break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_HELP: o->help = true; break;
		case OPT_VERSION: o->version = true; break;
		case OPT_OUT: o->out = arg; break;
		case OPT_CN: o->cn = arg; break;
		case OPT_DAYS: o->days = arg; break;
		case OPT_CSR: o->csr = arg; break;
		case OPT_CERT: o->cert = arg; break;
		case OPT_ROLE: o->role = arg; break;
		case OPT_CO_USER: o->co_user = arg; break;
		case OPT_FROM: o->from = arg; break;
		case OPT_BITS: o->bits = arg; break;
		case OPT_EXPONENT: o->exponent = arg; break;
		case OPT_LABEL: o->label = arg; break;
		case OPT_ID: o->id = arg; break;
		case OPT_CLASS: o->klass = arg; break;
		case OPT_SESSION: o->session = true; break;
		case OPT_EXTRACTABLE: o->extractable = true; break;
		case OPT_ATTR:
			if (o->nattrs >= CLI_MAX_ATTRS) {
				fprintf(stderr, "coffer: too many --attr\n");
				return CLI_E_USAGE;
			}
			o->attrs[o->nattrs++] = arg;
			break;
		case OPT_CURVE: o->curve = arg; break;
		case OPT_BYTES: o->bytes = arg; break;
		case OPT_KEY: o->key = arg; break;
		case OPT_WRAPPING_KEY: o->wrapping_key = arg; break;
		case OPT_UNWRAPPING_KEY: o->unwrapping_key = arg; break;
		case OPT_KEY_TYPE: o->key_type = arg; break;
		case OPT_MECH: o->mech = arg; break;
		case OPT_IN: o->in = arg; break;
		case OPT_SIG: o->sig = arg; break;
		case OPT_IV: o->iv = arg; break;
		case OPT_AAD: o->aad = arg; break;
		case OPT_TAG_BITS: o->tag_bits = arg; break;
		case OPT_DER: o->der = true; break;
		case OPT_HEX: o->hex = true; break;
		case OPT_RAW: o->raw = true; break;
		default: break;
		}
	}
	*first = optind;
	return 0;
}

/* --- help ------------------------------------------------------------ */

static void
synopsis(const struct cli_cmd *cmd, char *buf, size_t len)
{
	const struct cli_optdef *d;
	char name[64], mv[32];
	const char *m;
	size_t off;
	int id;

	off = (size_t)snprintf(buf, len, "coffer %s",
	    cli_cmd_name(cmd, name, sizeof(name)));
	if (cmd->args != NULL && off < len)
		off += (size_t)snprintf(buf + off, len - off, " %s", cmd->args);
	/* required options first, then the optional ones */
	for (id = 0; id < 2 * OPT__COUNT && off < len; id++) {
		if (id < OPT__COUNT ? !(cmd->required & OPTB(id)) :
		    !(cmd->opts & ~cmd->required & OPTB(id - OPT__COUNT)))
			continue;
		if ((d = optdef(id % OPT__COUNT)) == NULL)
			continue;
		m = metavar(cmd, d, mv, sizeof(mv));
		off += (size_t)snprintf(buf + off, len - off,
		    id < OPT__COUNT ? " --%s%s%s" : " [--%s%s%s]",
		    d->name, m[0] ? " " : "", m);
	}
}

static const struct cli_cmd *
find_cmd(const char *group, const char *name)
{
	const struct cli_cmd *cmd;

	for (cmd = cli_cmds; cmd->group != NULL; cmd++) {
		if (strcmp(cmd->group, group) != 0)
			continue;
		if (name == NULL && cmd->name == NULL)
			return cmd;
		if (name != NULL && cmd->name != NULL &&
		    strcmp(cmd->name, name) == 0)
			return cmd;
	}
	return NULL;
}

static void
print_global_options(FILE *f)
{
	const struct cli_optdef *d;
	char left[64];
	size_t i;

	fprintf(f, "\nGlobal options (before or after the command):\n");
	for (i = 0; i < NOPTDEFS; i++) {
		d = &optdefs[i];
		if (!(GLOBAL_OPTS & OPTB(d->id)))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", d->name,
		    d->metavar ? " " : "", d->metavar ? d->metavar : "");
		fprintf(f, "  %-25s ", left);
		print_wrapped(f, 28, 28, d->help);
	}
}

static void
print_overview(FILE *f)
{
	const struct cli_cmd *cmd;
	char name[64], syn[256];

	fprintf(f, "usage: coffer [OPTIONS] COMMAND [ARGS]\n"
	    "       coffer help COMMAND\n\n"
	    "Coffer " COFFER_VERSION " command line: cluster ceremony, users, "
	    "audit,\nkeys and cryptography.\n\nCommands:\n");
	for (cmd = cli_cmds; cmd->group != NULL; cmd++) {
		if (cmd->fn == NULL || (cmd->flags & CLI_F_HIDDEN))
			continue;
		cli_cmd_name(cmd, name, sizeof(name));
		snprintf(syn, sizeof(syn), "%s%s", cmd->summary,
		    cmd->login == CLI_LOGIN_YES ? " [login]" : "");
		fprintf(f, "  %-20s ", name);
		print_wrapped(f, 23, 23, syn);
	}
	print_global_options(f);
	fprintf(f, "\nPasswords are never taken as arguments: they are "
	    "prompted (no echo),\nor read with --password-file, "
	    "--password-env, or $COFFER_PASSWORD.\n"
	    "Exit status: 0 ok, 1 operation failed, 2 usage error, "
	    "3 connection/TLS error,\n4 authentication failure or user "
	    "locked.\n"
	    "Run 'coffer COMMAND --help' for details.\n");
}

static void
print_group(FILE *f, const char *group)
{
	const struct cli_cmd *cmd, *hdr;
	char syn[512];

	hdr = find_cmd(group, NULL);
	fprintf(f, "usage: coffer %s SUBCOMMAND [OPTIONS]\n", group);
	if (hdr != NULL && hdr->summary != NULL)
		fprintf(f, "\n%s.\n", hdr->summary);
	fprintf(f, "\nSubcommands:\n");
	for (cmd = cli_cmds; cmd->group != NULL; cmd++) {
		if (cmd->fn == NULL || cmd->name == NULL ||
		    strcmp(cmd->group, group) != 0)
			continue;
		synopsis(cmd, syn, sizeof(syn));
		fputs("  ", f);
		print_wrapped(f, 2, 6, syn);
		fprintf(f, "      %s%s\n", cmd->summary,
		    cmd->login == CLI_LOGIN_YES ? " [login]" : "");
	}
	if (hdr != NULL && hdr->help != NULL)
		fprintf(f, "\n%s\n", hdr->help);
	fprintf(f, "\nRun 'coffer %s SUBCOMMAND --help' for details,\n"
	    "'coffer --help' for the global options.\n", group);
}

static void
print_cmd(FILE *f, const struct cli_cmd *cmd)
{
	const struct cli_optdef *d;
	char syn[512], left[64], mv[32];
	const char *m;
	int id;

	synopsis(cmd, syn, sizeof(syn));
	fputs("usage: ", f);
	print_wrapped(f, 7, 11, syn);
	fprintf(f, "\n%s.\n", cmd->summary);
	if (cmd->help != NULL)
		fprintf(f, "\n%s\n", cmd->help);
	if (cmd->opts | cmd->required) {
		fprintf(f, "\nOptions:\n");
		for (id = 0; id < OPT__COUNT; id++) {
			if (!((cmd->opts | cmd->required) & OPTB(id)))
				continue;
			if ((d = optdef(id)) == NULL)
				continue;
			m = metavar(cmd, d, mv, sizeof(mv));
			snprintf(left, sizeof(left), "--%s%s%s", d->name,
			    m[0] ? " " : "", m);
			snprintf(syn, sizeof(syn), "%s%s", d->help,
			    (cmd->required & OPTB(id)) ? " (required)" : "");
			fprintf(f, "  %-21s ", left);
			print_wrapped(f, 24, 24, syn);
		}
	}
	switch (cmd->login) {
	case CLI_LOGIN_YES:
		fprintf(f, "\nNeeds a login: --user NAME (or the shell's "
		    "session) and a password from\n--password-file, "
		    "--password-env, $COFFER_PASSWORD or the prompt.\n");
		break;
	case CLI_LOGIN_ONLINE:
		fprintf(f, "\nWithout FILE, needs a login (--user NAME and a "
		    "password source).\n");
		break;
	default:
		break;
	}
	if (cmd->flags & CLI_F_CONNECT)
		fprintf(f, "Connects with --config/--server (see 'coffer "
		    "--help').\n");
}

void
cli_print_help(FILE *f, const char *group, const char *name)
{
	const struct cli_cmd *cmd;

	if (group == NULL) {
		print_overview(f);
		return;
	}
	if (name == NULL && (cmd = find_cmd(group, NULL)) != NULL &&
	    cmd->fn != NULL) {
		print_cmd(f, cmd);
		return;
	}
	if (name == NULL) {
		print_group(f, group);
		return;
	}
	if ((cmd = find_cmd(group, name)) != NULL)
		print_cmd(f, cmd);
}

int
cmd_help(struct cli *c)
{
	const char *group = c->argc > 0 ? c->argv[0] : NULL;
	const char *name = c->argc > 1 ? c->argv[1] : NULL;

	if (group != NULL && find_cmd(group, NULL) == NULL &&
	    (name == NULL || find_cmd(group, name) == NULL)) {
		bool any = false;
		const struct cli_cmd *cmd;

		for (cmd = cli_cmds; cmd->group != NULL; cmd++)
			if (strcmp(cmd->group, group) == 0)
				any = true;
		if (!any)
			return cli_usage(c, "unknown command '%s'", group);
	}
	if (group != NULL && name != NULL && find_cmd(group, name) == NULL)
		return cli_usage(c, "unknown command '%s %s'", group, name);
	cli_print_help(stdout, group, name);
	return 0;
}

int
cmd_version(struct cli *c)
{
	if (c->o.json) {
		cli_json_print(json_pack("{s:s, s:s}", "version",
		    COFFER_VERSION, "openssl",
		    OpenSSL_version(OPENSSL_VERSION)));
		return 0;
	}
	printf("coffer %s (%s)\n", COFFER_VERSION,
	    OpenSSL_version(OPENSSL_VERSION));
	return 0;
}

int
cmd_quit(struct cli *c)
{
	c->shell_quit = true;
	return 0;
}

/* --- connection and login -------------------------------------------- */

static const char *
config_path(const struct cli *c)
{
	const char *p;

	if (c->o.config != NULL)
		return c->o.config;
	if ((p = getenv("COFFER_CONFIG")) != NULL && *p != '\0')
		return p;
	if (access("coffer.json", F_OK) == 0)
		return "coffer.json";
	return "/etc/coffer/client.json";
}

int
cli_connect(struct cli *c)
{
	struct coffer_config *cfg = NULL;
	char errbuf[256] = "";
	const char *path = NULL;
	size_t i;
	int rc;

	if (c->client != NULL)
		return 0;
	if (c->o.nservers > 0) {
		if ((rc = coffer_config_new(&cfg)) != 0)
			goto out;
		for (i = 0; i < c->o.nservers; i++) {
			if ((rc = coffer_config_add_server(cfg,
			    c->o.servers[i])) != 0) {
				rc = cli_usage(c, "--server %s: %s (expected "
				    "HOST:PORT)", c->o.servers[i],
				    coffer_strerror(rc));
				goto out;
			}
		}
	} else {
		path = config_path(c);
		if (access(path, R_OK) != 0) {
			rc = cli_fail(c, COFFER_E_CONFIG, "%s: %s (give "
			    "--server HOST:PORT or --config FILE)", path,
			    strerror(errno));
			goto out;
		}
		if ((rc = coffer_config_load_err(path, &cfg, errbuf,
		    sizeof(errbuf))) != 0) {
			if (strncmp(errbuf, path, strlen(path)) == 0)
				rc = cli_fail(c, rc, "%s", errbuf);
			else
				rc = cli_fail(c, rc, "%s%s%s", path,
				    errbuf[0] ? ": " : "", errbuf);
			goto out;
		}
	}
	if (c->o.pin != NULL && (rc = coffer_config_set_pin(cfg,
	    c->o.pin)) != 0) {
		rc = cli_usage(c, "--pin must be 64 hex digits");
		goto out;
	}
	if (c->o.ca != NULL && !(c->cmd->flags & CLI_F_CA_PAYLOAD) &&
	    (rc = coffer_config_set_trust_anchor(cfg, c->o.ca)) != 0) {
		rc = cli_fail(c, rc, "--ca %s", c->o.ca);
		goto out;
	}
	/* The CLI runs one request at a time: one connection is enough and
	 * a failed login is counted once. */
	if ((rc = coffer_config_set_connections(cfg, 1)) != 0)
		goto out;
	if ((rc = coffer_client_new(cfg, &c->client, errbuf,
	    sizeof(errbuf))) != 0) {
		c->client = NULL;
		rc = cli_fail(c, rc, "%s", errbuf);
		goto out;
	}
	rc = 0;
 out:
	coffer_config_free(cfg);
	return rc;
}

int
cli_login(struct cli *c, const char *user)
{
	char *pw = NULL;
	int role = COFFER_ROLE_NONE;
	int rc;

	if ((rc = cli_connect(c)) != 0)
		return rc;
	if ((rc = cli_password_get(c, user, &pw)) != 0)
		return rc;
	rc = coffer_login(c->client, user, pw, &role);
	cli_password_free(pw);
	if (rc != 0) {
		const char *d = coffer_client_last_error(c->client);

		if (d != NULL && strcmp(d, coffer_strerror(rc)) == 0)
			d = NULL;
		return cli_fail(c, rc, "login as %s%s%s", user,
		    (d != NULL && *d != '\0') ? ": " : "", d ? d : "");
	}
	c->logged_in = true;
	c->login_role = role;
	snprintf(c->login_user, sizeof(c->login_user), "%s", user);
	return 0;
}

void
cli_logout(struct cli *c)
{
	if (c->client != NULL && c->logged_in)
		(void)coffer_logout(c->client);
	c->logged_in = false;
	c->login_user[0] = '\0';
	c->login_role = COFFER_ROLE_NONE;
}

void
cli_disconnect(struct cli *c)
{
	cli_logout(c);
	coffer_client_free(c->client);
	c->client = NULL;
}

/* --- dispatch -------------------------------------------------------- */

static void
report(struct cli *c, int rc)
{
	const char *detail = c->detail;
	char name[64];

	cli_cmd_name(c->cmd, name, sizeof(name));
	if (rc == CLI_E_USAGE) {
		if (*detail != '\0')
			fprintf(stderr, "coffer: %s: %s\n", name, detail);
		fprintf(stderr, "Try 'coffer %s--help'.\n",
		    c->cmd ? strcat(name, " ") : "");
		return;
	}
	if (*detail == '\0' && c->client != NULL)
		detail = coffer_client_last_error(c->client);
	if (detail == NULL || strcmp(detail, coffer_strerror(rc)) == 0)
		detail = "";
	fprintf(stderr, "coffer: %s: %s%s%s\n", name, coffer_strerror(rc),
	    *detail ? ": " : "", detail);
	if (c->o.json) {
		cli_json_print(json_pack("{s:{s:i, s:s, s:s, s:s}}", "error",
		    "code", rc, "name", coffer_errname(rc), "message",
		    coffer_strerror(rc), "detail", detail));
	}
}

/* Checks option values before anything touches the network. */
static int
check_values(struct cli *c)
{
	uint64_t v;
	int role, rc;

	if (c->o.role != NULL) {
		role = coffer_role_from_name(c->o.role);
		if (role != COFFER_ROLE_CO && role != COFFER_ROLE_CU &&
		    role != COFFER_ROLE_AU)
			return cli_usage(c, "--role must be co, cu or au");
	}
	if (c->o.days != NULL && cli_parse_u64(c->o.days, 1, 36500, &v) != 0)
		return cli_usage(c, "--days must be 1..36500");
	if (c->o.from != NULL && cli_parse_u64(c->o.from, 1, UINT64_MAX,
	    &v) != 0)
		return cli_usage(c, "--from must be a record number >= 1");
	if ((rc = cli_obj_check(c)) != 0)
		return rc;
	/* A missing new-password source is found before logging in. */
	if (c->cmd->flags & CLI_F_NEWPW) {
		if (c->o.new_password_file != NULL &&
		    access(c->o.new_password_file, R_OK) != 0)
			return cli_fail(c, COFFER_E_IO, "%s: %s",
			    c->o.new_password_file, strerror(errno));
		if (c->o.new_password_file == NULL &&
		    c->o.new_password_env != NULL &&
		    getenv(c->o.new_password_env) == NULL)
			return cli_usage(c, "environment variable %s is not "
			    "set", c->o.new_password_env);
	}
	return 0;
}

static int
run_cmd(struct cli *c)
{
	const struct cli_cmd *cmd = c->cmd;
	const struct cli_optdef *d;
	bool need_login, own_login = false, own_client = false;
	struct coffer_client *saved_client = NULL;
	bool saved_logged_in = false;
	const char *user;
	uint64_t extra;
	char mv[32];
	int id, rc;

	extra = c->o.seen & ~GLOBAL_OPTS & ~(cmd->opts | cmd->required);
	for (id = 0; id < OPT__COUNT; id++) {
		if ((extra & OPTB(id)) && (d = optdef(id)) != NULL)
			return cli_usage(c, "option --%s does not apply here",
			    d->name);
	}
	for (id = 0; id < OPT__COUNT; id++) {
		if ((cmd->required & OPTB(id)) && !(c->o.seen & OPTB(id)) &&
		    (d = optdef(id)) != NULL)
			return cli_usage(c, "missing --%s %s", d->name,
			    metavar(cmd, d, mv, sizeof(mv)));
	}
	if (c->argc < cmd->min_args)
		return cli_usage(c, "missing %s", cmd->args);
	if (c->argc > cmd->max_args)
		return cli_usage(c, "unexpected argument '%s'",
		    c->argv[cmd->max_args]);
	if ((cmd->flags & CLI_F_SHELL) && !c->in_shell)
		return cli_usage(c, "only inside 'coffer shell'");

	if ((rc = check_values(c)) != 0)
		return rc;
	need_login = cmd->login == CLI_LOGIN_YES ||
	    (cmd->login == CLI_LOGIN_ONLINE && c->argc == 0);
	user = c->o.user;
	if (user == NULL && !c->in_shell)
		user = getenv("COFFER_USER");
	if (need_login && !(c->in_shell && c->logged_in && user == NULL) &&
	    (user == NULL || *user == '\0'))
		return cli_usage(c, "needs a login: give --user NAME%s",
		    c->in_shell ? " or run 'login NAME' first" : "");

	/* In the shell, a line naming its own connection gets its own
	 * client; the shell's session stays untouched. */
	if (c->in_shell && (c->o.seen & CONN_OPTS) &&
	    !(cmd->flags & CLI_F_SESSION)) {
		saved_client = c->client;
		saved_logged_in = c->logged_in;
		c->client = NULL;
		c->logged_in = false;
		own_client = true;
	}
	if (need_login && (!c->logged_in || user != NULL)) {
		if (c->logged_in && user != NULL && c->in_shell &&
		    !own_client) {
			/* one-off login on the shell's connection: keep the
			 * session apart by using a fresh client */
			saved_client = c->client;
			saved_logged_in = c->logged_in;
			c->client = NULL;
			c->logged_in = false;
			own_client = true;
		}
		if ((rc = cli_login(c, user)) != 0)
			goto out;
		own_login = true;
	} else if ((cmd->flags & CLI_F_CONNECT) &&
	    (rc = cli_connect(c)) != 0) {
		goto out;
	}
	rc = cmd->fn(c);
 out:
	if (own_login)
		cli_logout(c);
	if (own_client) {
		char keep[sizeof(c->detail)];

		/* report() reads the client's last error: take it first */
		if (rc != 0 && c->detail[0] == '\0' && c->client != NULL)
			snprintf(c->detail, sizeof(c->detail), "%s",
			    coffer_client_last_error(c->client));
		snprintf(keep, sizeof(keep), "%s", c->detail);
		cli_disconnect(c);
		c->client = saved_client;
		c->logged_in = saved_logged_in;
		snprintf(c->detail, sizeof(c->detail), "%s", keep);
	}
	return rc;
}

int
cli_run(struct cli *c, int argc, char **argv, int first)
{
	const struct cli_cmd *cmd = NULL;
	const char *w0, *w1;
	int nw = argc - first;
	int rc;

	c->detail[0] = '\0';
	c->reported = false;
	c->cmd = NULL;
	w0 = nw > 0 ? argv[first] : NULL;
	w1 = nw > 1 ? argv[first + 1] : NULL;

	if (w0 == NULL) {
		if (c->o.version)
			return cmd_version(c);
		if (c->o.help) {
			cli_print_help(stdout, NULL, NULL);
			return 0;
		}
		if (c->in_shell)
			return 0;
		cli_print_help(stderr, NULL, NULL);
		return CLI_E_USAGE;
	}
	if ((cmd = find_cmd(w0, NULL)) != NULL && cmd->fn != NULL) {
		c->argv = argv + first + 1;
		c->argc = nw - 1;
	} else {
		bool any = false;
		const struct cli_cmd *p;

		for (p = cli_cmds; p->group != NULL; p++)
			if (strcmp(p->group, w0) == 0)
				any = true;
		if (!any) {
			fprintf(stderr, "coffer: unknown command '%s'\n"
			    "Try 'coffer --help'.\n", w0);
			return CLI_E_USAGE;
		}
		if (w1 == NULL) {
			if (c->o.help) {
				cli_print_help(stdout, w0, NULL);
				return 0;
			}
			cli_print_help(stderr, w0, NULL);
			return CLI_E_USAGE;
		}
		if ((cmd = find_cmd(w0, w1)) == NULL) {
			fprintf(stderr, "coffer: unknown command '%s %s'\n"
			    "Try 'coffer %s --help'.\n", w0, w1, w0);
			return CLI_E_USAGE;
		}
		c->argv = argv + first + 2;
		c->argc = nw - 2;
	}
	c->cmd = cmd;
	if (c->o.help && cmd->fn != cmd_help) {
		cli_print_help(stdout, cmd->group, cmd->name);
		return 0;
	}
	rc = run_cmd(c);
	if (rc != 0 && !c->reported)
		report(c, rc);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = 0, rc;

	cli_secmem_init();
	/* A node closing the connection, or a reader closing our stdout,
	 * is an error to report, not a reason to die silently. */
	(void)signal(SIGPIPE, SIG_IGN);
	if ((rc = cli_parse(argc, argv, &c.o, &first)) != 0)
		return cli_exit_status(rc);
	rc = cli_run(&c, argc, argv, first);
	cli_disconnect(&c);
	fflush(stdout);
	return cli_exit_status(rc);
}

/*
 * Key objects (keyobj.h, spec/client-crypto.md 8).
 */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "keyobj.h"
#include "le.h"

/* The key that wraps the master key: Argon2id over a passphrase, or a
 * keyed BLAKE2b of the recovery key (it has 256 bits of entropy already). */
static int
kek(int type, const uint8_t *secret, size_t len, const struct vc_kdf_params *p,
    uint8_t out[VC_KEY_LEN])
{
	crypto_generichash_state st;

	if (type == VC_KEYOBJ_TYPE_PASSPHRASE)
		return vc_master_derive(secret, len, p, out);
	if (len != VC_RECOVERY_LEN)
		return VC_E_PASSPHRASE;
	crypto_generichash_init(&st, secret, len, VC_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)VC_RECOVERY_DOMAIN,
	    sizeof(VC_RECOVERY_DOMAIN) - 1);
	crypto_generichash_update(&st, p->salt, VC_SALT_LEN);
	crypto_generichash_final(&st, out, VC_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
	return VC_OK;
}

static void
info_key(const uint8_t master[VC_KEY_LEN], uint8_t out[VC_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, VC_KEY_LEN, VC_SUBKEY_KEYINFO, VC_KDF_CONTEXT, master);
}

int
vc_keyobj_new(int type, const uint8_t *secret, size_t len, const struct vc_kdf_params *p,
    const uint8_t master[VC_KEY_LEN], int64_t created, const char *label,
    const uint8_t *nonces, uint8_t out[VC_KEYOBJ_LEN])
{
	uint8_t k[VC_KEY_LEN], info[VC_KEYOBJ_INFO_PLAIN_LEN] = { 0 };
	size_t ll = strlen(label);
	int rc;

	if (ll >= VC_KEYOBJ_LABEL_LEN ||
	    (type != VC_KEYOBJ_TYPE_PASSPHRASE && type != VC_KEYOBJ_TYPE_RECOVERY))
		return VC_E_CORRUPT;
	memcpy(out, VC_KEYOBJ_MAGIC, VC_KEYOBJ_MAGIC_LEN);
	out[VC_KEYOBJ_VERSION_OFF] = VC_KEYOBJ_VERSION;
	out[VC_KEYOBJ_TYPE_OFF] = (uint8_t)type;
	le64_put(&out[VC_KEYOBJ_OPSLIMIT_OFF], type == VC_KEYOBJ_TYPE_PASSPHRASE ? p->opslimit : 0);
	le64_put(&out[VC_KEYOBJ_MEMLIMIT_OFF], type == VC_KEYOBJ_TYPE_PASSPHRASE ? p->memlimit : 0);
	memcpy(&out[VC_KEYOBJ_SALT_OFF], p->salt, VC_SALT_LEN);
	if (nonces != NULL) {
		memcpy(&out[VC_KEYOBJ_NONCE_OFF], nonces, VC_NONCE_LEN);
		memcpy(&out[VC_KEYOBJ_INFO_NONCE_OFF], nonces + VC_NONCE_LEN, VC_NONCE_LEN);
	} else {
		randombytes_buf(&out[VC_KEYOBJ_NONCE_OFF], VC_NONCE_LEN);
		randombytes_buf(&out[VC_KEYOBJ_INFO_NONCE_OFF], VC_NONCE_LEN);
	}
	if ((rc = kek(type, secret, len, p, k)) != VC_OK)
		return rc;
	crypto_aead_xchacha20poly1305_ietf_encrypt(&out[VC_KEYOBJ_WRAP_OFF], NULL, master,
	    VC_KEY_LEN, out, VC_KEYOBJ_HEADER_LEN, NULL, &out[VC_KEYOBJ_NONCE_OFF], k);
	le64_put(info, (uint64_t)created);
	memcpy(&info[8], label, ll);
	info_key(master, k);
	crypto_aead_xchacha20poly1305_ietf_encrypt(&out[VC_KEYOBJ_INFO_OFF], NULL, info,
	    sizeof(info), out, VC_KEYOBJ_INFO_OFF, NULL, &out[VC_KEYOBJ_INFO_NONCE_OFF], k);
	sodium_memzero(k, sizeof(k));
	return VC_OK;
}

/* The KDF parameters of a checked key object. */
static void
obj_params(const uint8_t *obj, struct vc_kdf_params *p)
{
	p->opslimit = le64_get(&obj[VC_KEYOBJ_OPSLIMIT_OFF]);
	p->memlimit = le64_get(&obj[VC_KEYOBJ_MEMLIMIT_OFF]);
	memcpy(p->salt, &obj[VC_KEYOBJ_SALT_OFF], VC_SALT_LEN);
}

int
vc_keyobj_type(const uint8_t *obj, size_t len)
{
	struct vc_kdf_params p;
	int type;

	if (len < VC_KEYOBJ_VERSION_OFF + 1 ||
	    memcmp(obj, VC_KEYOBJ_MAGIC, VC_KEYOBJ_MAGIC_LEN) != 0)
		return VC_E_CORRUPT;
	if (obj[VC_KEYOBJ_VERSION_OFF] != VC_KEYOBJ_VERSION)
		return VC_E_UNSUPPORTED;
	if (len != VC_KEYOBJ_LEN)
		return VC_E_CORRUPT;
	type = obj[VC_KEYOBJ_TYPE_OFF];
	obj_params(obj, &p);
	if (type == VC_KEYOBJ_TYPE_RECOVERY)
		return p.opslimit == 0 && p.memlimit == 0 ? type : VC_E_CORRUPT;
	if (type != VC_KEYOBJ_TYPE_PASSPHRASE)
		return VC_E_UNSUPPORTED;
	/* Bounded before any Argon2id runs, as for the config blob. */
	if (!vc_kdf_params_ok(&p))
		return VC_E_UNSUPPORTED;
	return type;
}

int
vc_keyobj_open(const uint8_t *obj, const uint8_t *secret, size_t len,
    uint8_t master[VC_KEY_LEN])
{
	struct vc_kdf_params p;
	uint8_t k[VC_KEY_LEN];
	int rc;

	obj_params(obj, &p);
	if ((rc = kek(obj[VC_KEYOBJ_TYPE_OFF], secret, len, &p, k)) != VC_OK)
		return rc;
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(master, NULL, NULL,
	    &obj[VC_KEYOBJ_WRAP_OFF], VC_KEY_LEN + VC_TAG_LEN, obj, VC_KEYOBJ_HEADER_LEN,
	    &obj[VC_KEYOBJ_NONCE_OFF], k) == 0 ? VC_OK : VC_E_PASSPHRASE;
	sodium_memzero(k, sizeof(k));
	if (rc != VC_OK)
		sodium_memzero(master, VC_KEY_LEN);
	return rc;
}

int
vc_keyobj_info(const uint8_t *obj, const uint8_t master[VC_KEY_LEN],
    struct vc_keyobj_info *info)
{
	uint8_t k[VC_KEY_LEN], plain[VC_KEYOBJ_INFO_PLAIN_LEN];
	int rc;

	memset(info, 0, sizeof(*info));
	info_key(master, k);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL,
	    &obj[VC_KEYOBJ_INFO_OFF], sizeof(plain) + VC_TAG_LEN, obj, VC_KEYOBJ_INFO_OFF,
	    &obj[VC_KEYOBJ_INFO_NONCE_OFF], k);
	sodium_memzero(k, sizeof(k));
	if (rc != 0)
		return VC_E_AUTH;
	info->type = obj[VC_KEYOBJ_TYPE_OFF];
	info->created = (int64_t)le64_get(plain);
	memcpy(info->label, &plain[8], VC_KEYOBJ_LABEL_LEN - 1);
	return VC_OK;
}

void
vc_recovery_new(uint8_t key[VC_RECOVERY_LEN], char text[VC_RECOVERY_TEXT_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	randombytes_buf(key, VC_RECOVERY_LEN);
	for (size_t i = 0; i < VC_RECOVERY_LEN; i++) {
		if (i > 0 && i % 4 == 0)
			text[o++] = '-';
		text[o++] = digits[key[i] >> 4];
		text[o++] = digits[key[i] & 15];
	}
	text[o] = '\0';
}

int
vc_recovery_parse(const char *s, size_t len, uint8_t key[VC_RECOVERY_LEN])
{
	size_t n = 0;
	int hi = -1;

	for (size_t i = 0; i < len; i++) {
		int c = tolower((unsigned char)s[i]), v;

		if (c == '-' || isspace(c))
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == VC_RECOVERY_LEN)
			return -1;
		key[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return n == VC_RECOVERY_LEN && hi < 0 ? 0 : -1;
}

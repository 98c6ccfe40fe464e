// SPDX-License-Identifier: Apache-2.0
// Java 17 JCE through SunPKCS11 against a PKCS#11 token.
// Usage: java P11Interop <sunpkcs11.cfg> <PIN> [keytool-alias [noimport]]
// Prints "PASS name" / "FAIL name: reason" per check, then "N passed, N failed".
// Everything made in the token is checked with a software provider
// (SunRsaSign, SunEC, SunJCE) on the other side.
//
// noimport: the token refuses secret and private keys by value
// (C_CreateObject with CKA_VALUE -> CKR_TEMPLATE_INCONSISTENT; Coffer:
// keys enter only wrapped). Then software keys are checked to be refused
// cleanly, and the "known key" checks use token keys whose value is
// learned by wrapping them under the token's RSA public key (C_WrapKey,
// CKM_RSA_PKCS) and decrypting that with the private key (C_Decrypt).
import java.security.*;
import java.security.cert.Certificate;
import java.security.spec.*;
import java.util.*;
import javax.crypto.*;
import javax.crypto.spec.*;

public class P11Interop {
	static int passed, failed;
	static Provider p11;

	interface Check { void run() throws Exception; }

	static void check(String name, Check c) {
		try {
			c.run();
			passed++;
			System.out.println("PASS " + name);
		} catch (Throwable e) {
			failed++;
			StringBuilder sb = new StringBuilder(e.toString());
			for (Throwable x = e.getCause(); x != null; x = x.getCause())
				sb.append(" <- ").append(x);
			System.out.println("FAIL " + name + ": " + sb);
			e.printStackTrace(System.out);
		}
		System.out.flush();
	}

	static void expect(boolean cond, String msg) {
		if (!cond)
			throw new AssertionError(msg);
	}

	static PublicKey soft(PublicKey k) throws Exception {
		String alg = k.getAlgorithm().equals("EC") ? "EC" : "RSA";
		String prov = alg.equals("EC") ? "SunEC" : "SunRsaSign";
		return KeyFactory.getInstance(alg, prov).generatePublic(
		    new X509EncodedKeySpec(k.getEncoded()));
	}

	static KeyStore ks;
	static KeyPair rsa, ec;
	static SecretKey aes;
	static boolean noImport;
	static final byte[] DATA = "SunPKCS11 interop data, Coffer".repeat(20).getBytes();

	// The value of a token secret key: C_WrapKey under the token RSA
	// public key, C_Decrypt with the private key (both CKM_RSA_PKCS).
	static byte[] wrapOut(SecretKey k) throws Exception {
		Cipher w = Cipher.getInstance("RSA/ECB/PKCS1Padding", p11);
		w.init(Cipher.WRAP_MODE, rsa.getPublic());
		byte[] wrapped = w.wrap(k);
		expect(wrapped.length == 256, "wrapped length " + wrapped.length);
		Cipher d = Cipher.getInstance("RSA/ECB/PKCS1Padding", p11);
		d.init(Cipher.DECRYPT_MODE, rsa.getPrivate());
		return d.doFinal(wrapped);
	}

	// The token refuses a key by value, cleanly.
	static void refused(Check c) throws Exception {
		try {
			c.run();
		} catch (Exception e) {
			StringBuilder sb = new StringBuilder(e.toString());
			for (Throwable x = e.getCause(); x != null; x = x.getCause())
				sb.append(" <- ").append(x);
			String s = sb.toString();
			expect(s.contains("CKR_TEMPLATE_INCONSISTENT") &&
			    !s.contains("CKR_ATTRIBUTE_TYPE_INVALID"),
			    "refused, but not with CKR_TEMPLATE_INCONSISTENT: " + s);
			System.out.println("  refused: " + s);
			return;
		}
		throw new AssertionError("key imported by value");
	}

	public static void main(String[] a) throws Exception {
		String cfg = a[0];
		char[] pin = a[1].toCharArray();
		String ktAlias = a.length > 2 && !a[2].isEmpty() ? a[2] : null;
		noImport = a.length > 3 && a[3].equals("noimport");
		SecureRandom rnd = new SecureRandom();

		check("provider_configure", () -> {
			p11 = Security.getProvider("SunPKCS11").configure(cfg);
			Security.addProvider(p11);
			expect(p11.getService("Signature", "SHA256withRSA") != null,
			    "no SHA256withRSA service in " + p11.getName());
		});
		if (p11 == null) {
			System.out.println(passed + " passed, " + failed + " failed");
			System.exit(1);
		}
		check("keystore_login_and_list", () -> {
			ks = KeyStore.getInstance("PKCS11", p11);
			ks.load(null, pin);
			List<String> al = Collections.list(ks.aliases());
			System.out.println("  aliases: " + al);
			if (ktAlias != null) {
				expect(al.contains(ktAlias), "alias " + ktAlias + " not listed");
				expect(ks.isKeyEntry(ktAlias), ktAlias + " is not a key entry");
				expect(ks.getCertificate(ktAlias) != null, "no certificate");
			}
		});
		if (ktAlias != null)
			check("keystore_key_sign", () -> {
				PrivateKey k = (PrivateKey)ks.getKey(ktAlias, null);
				Certificate c = ks.getCertificate(ktAlias);
				Signature s = Signature.getInstance("SHA256withRSA", p11);
				s.initSign(k);
				s.update(DATA);
				byte[] sig = s.sign();
				Signature v = Signature.getInstance("SHA256withRSA", "SunRsaSign");
				v.initVerify(soft(c.getPublicKey()));
				v.update(DATA);
				expect(v.verify(sig), "keytool key signature does not verify");
			});
		check("keypairgenerator_rsa", () -> {
			KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", p11);
			g.initialize(2048);
			rsa = g.generateKeyPair();
			expect(rsa.getPrivate().getClass().getName().contains("P11"),
			    "RSA key not in the token: " + rsa.getPrivate().getClass());
		});
		check("keypairgenerator_ec", () -> {
			KeyPairGenerator g = KeyPairGenerator.getInstance("EC", p11);
			g.initialize(new ECGenParameterSpec("secp256r1"));
			ec = g.generateKeyPair();
			expect(ec.getPrivate().getClass().getName().contains("P11"),
			    "EC key not in the token");
		});
		check("keygenerator_aes", () -> {
			KeyGenerator g = KeyGenerator.getInstance("AES", p11);
			g.init(256);
			aes = g.generateKey();
			expect(aes.getClass().getName().contains("P11"), "AES key not in token");
		});
		check("signature_sha256withrsa", () -> {
			Signature s = Signature.getInstance("SHA256withRSA", p11);
			s.initSign(rsa.getPrivate());
			s.update(DATA);
			byte[] sig = s.sign();
			Signature v = Signature.getInstance("SHA256withRSA", "SunRsaSign");
			v.initVerify(soft(rsa.getPublic()));
			v.update(DATA);
			expect(v.verify(sig), "software does not verify");
			DATA[0] ^= 1;
			v.initVerify(soft(rsa.getPublic()));
			v.update(DATA);
			DATA[0] ^= 1;
			expect(!v.verify(sig), "wrong data verified");
			Signature t = Signature.getInstance("SHA256withRSA", p11);
			t.initVerify(rsa.getPublic());
			t.update(DATA);
			expect(t.verify(sig), "token does not verify");
		});
		check("signature_rsassa_pss", () -> {
			PSSParameterSpec ps = new PSSParameterSpec("SHA-256", "MGF1",
			    MGF1ParameterSpec.SHA256, 32, 1);
			Signature s = Signature.getInstance("RSASSA-PSS", p11);
			s.setParameter(ps);
			s.initSign(rsa.getPrivate());
			s.update(DATA);
			byte[] sig = s.sign();
			Signature v = Signature.getInstance("RSASSA-PSS", "SunRsaSign");
			v.setParameter(ps);
			v.initVerify(soft(rsa.getPublic()));
			v.update(DATA);
			expect(v.verify(sig), "software does not verify PSS");
		});
		check("signature_sha256withecdsa", () -> {
			Signature s = Signature.getInstance("SHA256withECDSA", p11);
			s.initSign(ec.getPrivate());
			s.update(DATA);
			byte[] sig = s.sign();
			Signature v = Signature.getInstance("SHA256withECDSA", "SunEC");
			v.initVerify(soft(ec.getPublic()));
			v.update(DATA);
			expect(v.verify(sig), "SunEC does not verify");
		});
		check("cipher_aes_gcm_token_key", () -> {
			byte[] iv = new byte[12], aad = "header".getBytes();
			rnd.nextBytes(iv);
			Cipher c = Cipher.getInstance("AES/GCM/NoPadding", p11);
			c.init(Cipher.ENCRYPT_MODE, aes, new GCMParameterSpec(128, iv));
			c.updateAAD(aad);
			byte[] ct = c.doFinal(DATA);
			expect(ct.length == DATA.length + 16, "GCM length " + ct.length);
			c = Cipher.getInstance("AES/GCM/NoPadding", p11);
			c.init(Cipher.DECRYPT_MODE, aes, new GCMParameterSpec(128, iv));
			c.updateAAD(aad);
			expect(Arrays.equals(c.doFinal(ct), DATA), "GCM round trip");
			ct[3] ^= 1;
			c = Cipher.getInstance("AES/GCM/NoPadding", p11);
			c.init(Cipher.DECRYPT_MODE, aes, new GCMParameterSpec(128, iv));
			c.updateAAD(aad);
			try {
				c.doFinal(ct);
				throw new AssertionError("tampered GCM ciphertext accepted");
			} catch (BadPaddingException e) {
				// expected
			}
		});
		check("cipher_aes_cbc_pkcs5_token_key", () -> {
			byte[] iv = new byte[16];
			rnd.nextBytes(iv);
			Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding", p11);
			c.init(Cipher.ENCRYPT_MODE, aes, new IvParameterSpec(iv));
			byte[] ct = c.doFinal(DATA);
			expect(ct.length == (DATA.length / 16 + 1) * 16, "CBC length");
			c = Cipher.getInstance("AES/CBC/PKCS5Padding", p11);
			c.init(Cipher.DECRYPT_MODE, aes, new IvParameterSpec(iv));
			expect(Arrays.equals(c.doFinal(ct), DATA), "CBC round trip");
		});
		// A known key against SunJCE: imported as a session object, or
		// (noimport) the token key whose value was wrapped out.
		byte[] kb = new byte[32];
		rnd.nextBytes(kb);
		SecretKeySpec soft = new SecretKeySpec(kb, "AES");
		final Key tokenKey = noImport ? aes : soft;
		if (noImport) {
			check("import_secret_key_refused", () -> {
				refused(() -> {
					Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding", p11);
					c.init(Cipher.ENCRYPT_MODE, soft,
					    new IvParameterSpec(new byte[16]));
				});
				refused(() -> {
					Mac m = Mac.getInstance("HmacSHA256", p11);
					m.init(new SecretKeySpec(kb, "HmacSHA256"));
				});
			});
			check("wrap_out_token_aes_key", () -> {
				byte[] v = wrapOut(aes);
				expect(v.length == 32, "AES-256 value length " + v.length);
				System.arraycopy(v, 0, kb, 0, 32);
			});
		}
		SecretKeySpec known = new SecretKeySpec(kb, "AES");
		check("cipher_aes_gcm_vs_sunjce", () -> {
			byte[] iv = new byte[12];
			rnd.nextBytes(iv);
			Cipher c = Cipher.getInstance("AES/GCM/NoPadding", p11);
			c.init(Cipher.ENCRYPT_MODE, tokenKey, new GCMParameterSpec(128, iv));
			byte[] ct = c.doFinal(DATA);
			Cipher s = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
			s.init(Cipher.DECRYPT_MODE, known, new GCMParameterSpec(128, iv));
			expect(Arrays.equals(s.doFinal(ct), DATA), "SunJCE cannot decrypt");
		});
		check("cipher_aes_cbc_pkcs5_vs_sunjce", () -> {
			byte[] iv = new byte[16];
			rnd.nextBytes(iv);
			Cipher s = Cipher.getInstance("AES/CBC/PKCS5Padding", "SunJCE");
			s.init(Cipher.ENCRYPT_MODE, known, new IvParameterSpec(iv));
			byte[] ct = s.doFinal(DATA);
			Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding", p11);
			c.init(Cipher.DECRYPT_MODE, tokenKey, new IvParameterSpec(iv));
			expect(Arrays.equals(c.doFinal(ct), DATA), "token cannot decrypt");
		});
		check("mac_hmacsha256_vs_sunjce", () -> {
			byte[] hk = new byte[32];
			rnd.nextBytes(hk);
			Key k = new SecretKeySpec(hk, "HmacSHA256");
			if (noImport) {
				KeyGenerator g = KeyGenerator.getInstance("HmacSHA256", p11);
				g.init(256);
				k = g.generateKey();
				hk = wrapOut((SecretKey)k);
				expect(hk.length == 32, "HMAC key length " + hk.length);
			}
			Mac m = Mac.getInstance("HmacSHA256", p11);
			m.init(k);
			byte[] t = m.doFinal(DATA);
			Mac s = Mac.getInstance("HmacSHA256", "SunJCE");
			s.init(new SecretKeySpec(hk, "HmacSHA256"));
			expect(Arrays.equals(s.doFinal(DATA), t), "HMAC differs from SunJCE");
		});
		check("mac_hmacsha256_token_key", () -> {
			KeyGenerator g = KeyGenerator.getInstance("HmacSHA256", p11);
			g.init(256);
			SecretKey hk = g.generateKey();
			Mac m = Mac.getInstance("HmacSHA256", p11);
			m.init(hk);
			byte[] t1 = m.doFinal(DATA);
			m.init(hk);
			m.update(DATA, 0, 7);
			m.update(DATA, 7, DATA.length - 7);
			expect(t1.length == 32 && Arrays.equals(m.doFinal(), t1),
			    "multi-part HMAC differs");
		});
		if (noImport)
			check("keystore_store_software_key_refused", () -> {
				refused(() -> ks.setEntry("java-soft", new KeyStore.SecretKeyEntry(
				    new SecretKeySpec(new byte[32], "AES")), null));
				KeyStore k2 = KeyStore.getInstance("PKCS11", p11);
				k2.load(null, pin);
				expect(!Collections.list(k2.aliases()).contains("java-soft"),
				    "refused key listed");
			});
		check("keystore_store_secret_key", () -> {
			// A token key is copied (C_CopyObject) under the alias.
			ks.setEntry("java-aes", new KeyStore.SecretKeyEntry(
			    noImport ? aes : new SecretKeySpec(kb, "AES")), null);
			KeyStore k2 = KeyStore.getInstance("PKCS11", p11);
			k2.load(null, pin);
			List<String> al = Collections.list(k2.aliases());
			expect(al.contains("java-aes"), "stored key not listed: " + al);
			SecretKey sk = (SecretKey)k2.getKey("java-aes", null);
			byte[] iv = new byte[16];
			Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding", p11);
			c.init(Cipher.ENCRYPT_MODE, sk, new IvParameterSpec(iv));
			byte[] ct = c.doFinal(DATA);
			Cipher s = Cipher.getInstance("AES/CBC/PKCS5Padding", "SunJCE");
			s.init(Cipher.DECRYPT_MODE, known, new IvParameterSpec(iv));
			expect(Arrays.equals(s.doFinal(ct), DATA), "stored key differs");
		});
		System.out.println(passed + " passed, " + failed + " failed");
		System.exit(failed == 0 ? 0 : 1);
	}
}

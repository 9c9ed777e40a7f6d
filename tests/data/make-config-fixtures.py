import base64, subprocess, re, os
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def b64(b): return base64.b64encode(b).decode()
def vec(name):
    d={}
    for l in open(f'webauthn-l3/{name}.vec'):
        if l.startswith('#') or not l.strip(): continue
        k,v=l.rstrip('\n').split(' = ',1); d[k]=v
    return d
def cose_from_att(hexobj):
    b=bytes.fromhex(hexobj); k=b.find(b'hauthData')+9
    hdr=b[k]&31; off={24:2,25:3}.get(hdr,1); ln={24:b[k+1],25:int.from_bytes(b[k+1:k+3],'big')}.get(hdr,hdr)
    ad=b[k+off:k+off+ln]; cl=int.from_bytes(ad[53:55],'big'); return ad[55+cl:], ad[55:55+cl]
es_key, es_id = cose_from_att(vec('none-es256')['registration.attestationObject'])
ed_key, ed_id = cose_from_att(vec('packed-eddsa')['registration.attestationObject'])
rs_key, rs_id = cose_from_att(vec('packed-rs256')['registration.attestationObject'])
ps_key, ps_id = cose_from_att(vec('packed-self-es256')['registration.attestationObject'])
E, D, R, P = b64u(es_key), b64u(ed_key), b64u(rs_key), b64u(ps_key)
TAB='\t'
valid = (
"# tpmauthn credentials -- test fixture: every field form the grammar allows.\n"
"# USER CREDENTIAL-ID ALG PUBLIC-KEY KIND ATTRIBUTES CREATED [LABEL]\n\n"
f"alice {b64u(es_id)} es256 {E} tpm uv=pin 2026-11-29 Alice's laptop (TPM)\n"
f"alice {b64u(ed_id)} eddsa {D} fido2 uv=none,rp=pam://host,origin=pam://host 2026-01-02 YubiKey 5 \u00abNFC\u00bb\n"
f"{TAB}bob {b64u(rs_id)} rs256 {R} remote uv=pin,origin=ssh://server.example,rp=server.example 2025-12-31\n"
f"carol@example.org * es256 {P} fido2 uv=pin,rp=pam://host 2026-11-29    trailing spaces are trimmed   \n")
open('credentials/valid.credentials','w').write(valid)
good = f"dave {b64u(b'dave-credential-1')} es256 {E} tpm uv=pin 2026-11-29 ok"
bad = [
 ("too few fields", f"dave {b64u(b'x1')} es256 {E} tpm uv=pin"),
 ("invalid user name", f"-dave {b64u(b'x2')} es256 {E} tpm uv=pin 2026-11-29"),
 ("invalid user name", f"da:ve {b64u(b'x3')} es256 {E} tpm uv=pin 2026-11-29"),
 ("credential id is not base64url", f"dave QUJD+w== es256 {E} tpm uv=pin 2026-11-29"),
 ("credential id: base64url: non-zero trailing bits", f"dave QR es256 {E} tpm uv=pin 2026-11-29"),
 ("unknown algorithm", f"dave {b64u(b'x4')} ES256 {E} tpm uv=pin 2026-11-29"),
 ("public key is not base64url", f"dave {b64u(b'x5')} es256 {E}= tpm uv=pin 2026-11-29"),
 ("public key: COSE_Key", f"dave {b64u(b'x6')} es256 {E[:-8]} tpm uv=pin 2026-11-29"),
 ("public key is EdDSA but the line says es256", f"dave {b64u(b'x7')} es256 {D} tpm uv=pin 2026-11-29"),
 ("unknown authenticator kind", f"dave {b64u(b'x8')} es256 {E} usb uv=pin 2026-11-29"),
 ("attributes lack uv=pin or uv=none", f"dave {b64u(b'x9')} es256 {E} tpm rp=pam://host 2026-11-29"),
 ("uv must be pin or none", f"dave {b64u(b'xa')} es256 {E} tpm uv=yes 2026-11-29"),
 ("unknown attribute", f"dave {b64u(b'xb')} es256 {E} tpm uv=pin,pin=1234 2026-11-29"),
 ("attribute uv given twice", f"dave {b64u(b'xc')} es256 {E} tpm uv=pin,uv=none 2026-11-29"),
 ("attributes end with a comma", f"dave {b64u(b'xd')} es256 {E} tpm uv=pin, 2026-11-29"),
 ("lacks '='", f"dave {b64u(b'xe')} es256 {E} tpm uv=pin,discoverable 2026-11-29"),
 ("creation date is not YYYY-MM-DD", f"dave {b64u(b'xf')} es256 {E} tpm uv=pin 29.11.2026"),
 ("creation date is not YYYY-MM-DD", f"dave {b64u(b'xg')} es256 {E} tpm uv=pin 2026-13-01"),
 ("label is not printable UTF-8", f"dave {b64u(b'xh')} es256 {E} tpm uv=pin 2026-11-29 bad\x01label"),
 ("label is not printable UTF-8", f"dave {b64u(b'xi')} es256 {E} tpm uv=pin 2026-11-29 bad\xc3("),
 ("carriage return in line", f"dave {b64u(b'xj')} es256 {E} tpm uv=pin 2026-11-29\r"),
 ("credential id must be 1-1023 bytes", f"dave {b64u(bytes(1024))} es256 {E} tpm uv=pin 2026-11-29"),
 ("label longer than 256 bytes", f"dave {b64u(b'xk')} es256 {E} tpm uv=pin 2026-11-29 " + "x"*257),
 ("attribute rp has an invalid value", f"dave {b64u(b'xl')} es256 {E} tpm uv=pin,rp= 2026-11-29"),
]
with open('credentials/invalid-lines.txt','wb') as f:
    f.write(b"# Each line: EXPECTED-ERROR-FRAGMENT <TAB> a credentials line that must be rejected.\n")
    f.write(b"# Made from the keys in valid.credentials; see README.md.\n")
    for frag, line in bad:
        assert '\n' not in line
        # \xc3 followed by '(' is invalid UTF-8: write the raw byte.
        raw = line.encode('utf-8').replace('\u00c3('.encode('utf-8'), b'\xc3(')
        f.write(frag.encode() + b'\t' + raw + b'\n')
open('credentials/good-line.txt','w').write(good + '\n')

x, y = es_key[10:42], es_key[45:77]
assert es_key[7:10] == bytes([0x21,0x58,0x20]) and es_key[42:45] == bytes([0x22,0x58,0x20])
edx = ed_key[-32:]
subprocess.run(['openssl','genpkey','-algorithm','RSA','-pkeyopt','rsa_keygen_bits:2048','-out','/tmp/rsa.pem'],check=True,capture_output=True)
txt = subprocess.run(['openssl','pkey','-in','/tmp/rsa.pem','-noout','-text'],check=True,capture_output=True,text=True).stdout
mod = re.search(r'modulus:\s*((?:\s*[0-9a-f:]+\n)+)', txt).group(1)
n = bytes.fromhex(re.sub(r'[\s:]','',mod)); n = n[1:] if n[0]==0 else n
assert len(n)==256
rs_raw = n + bytes([1,0,1])
kh1, kh2, kh3 = os.urandom(64), os.urandom(48), os.urandom(64)
pt = b'\x04' + x + y
current = (f"alice:{b64(kh1)},{b64(x+y)},es256,+presence:{b64(kh2)},{b64(edx)},eddsa,+presence+pin\n"
           f"bob:{b64(kh3)},{b64(rs_raw)},rs256,+presence+verification\n"
           f"carol:*,{b64(pt)},es256,\n")
old = f"dave:{b64u(kh1)},{pt.hex()}:{b64u(kh2)}==,{pt.hex()}\n"
open('pam-u2f/current.authfile','w').write(current)
open('pam-u2f/old.authfile','w').write(old)
bad_u2f = [
 ("expected user:keyhandle", "alice"),
 ("key handle is not base64", f"alice:not*base64,{b64(x+y)},es256,+presence"),
 ("unknown COSE type", f"alice:{b64(kh1)},{b64(x+y)},es384,+presence"),
 ("es256 key is not 64 bytes", f"alice:{b64(kh1)},{b64(x)},es256,+presence"),
 ("eddsa key is not 32 bytes", f"alice:{b64(kh1)},{b64(x+y)},eddsa,+presence"),
 ("rs256 key is not 259 bytes", f"alice:{b64(kh1)},{b64(n)},rs256,+presence"),
 ("unknown attribute +touch", f"alice:{b64(kh1)},{b64(x+y)},es256,+presence+touch"),
 ("attributes must look like", f"alice:{b64(kh1)},{b64(x+y)},es256,presence"),
 ("a device needs 4 comma-separated fields", f"alice:{b64(kh1)},{b64(x+y)},es256,+presence,extra"),
 ("old-format public key is not 130 hex digits", f"alice:{b64u(kh1)},{(x+y).hex()}"),
 ("public key is not base64", f"alice:{b64(kh1)},***,es256,+presence"),
 ("not a valid public key", f"alice:{b64(kh1)},{b64(x+bytes(32))},es256,+presence"),
 ("invalid user name", f"-rf:{b64(kh1)},{b64(x+y)},es256,+presence"),
]
with open('pam-u2f/invalid-lines.txt','w') as f:
    f.write("# Each line: EXPECTED-ERROR-FRAGMENT <TAB> a pam-u2f authfile line that must be rejected.\n")
    for frag, line in bad_u2f: f.write(frag + '\t' + line + '\n')

// tests/unit/feeds/tls_memory_connection.h
//
// TlsMemoryConnection: a real TLS 1.3 connection between two OpenSSL
// objects in one process, joined by memory BIOs, for the record reader's
// test and benchmark (tests/unit/feeds/tls13_record_reader_test.cc,
// bench/tls_record_bench.cc):
//
//   TlsMemoryConnection c("TLS_AES_128_GCM_SHA256");
//   c.server_write("...");                  // a record, made by OpenSSL
//   std::string wire = c.take_server_bytes();  // raw, as a socket would carry them
//   c.server_secret();                      // what the client's keylog callback saw
//
// The handshake runs in the constructor; the client's keylog callback keeps
// the server's application traffic secret, as websocket_client.cc does.
// The server's tickets (sent once it reads the client's Finished) stay in
// the server's output, for the reader. The certificate is a self-signed
// P-256 one made once per process; the client does not verify it (the
// record layer is under test here, not the handshake).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "feeds/hex_digit.h"

namespace tickflow::testing {

class TlsMemoryConnection {
 public:
  explicit TlsMemoryConnection(const char* suite, int block_padding = 0) {
    server_ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(server_ctx_, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(server_ctx_, suite);
    SSL_CTX_use_certificate(server_ctx_, identity().cert);
    SSL_CTX_use_PrivateKey(server_ctx_, identity().key);
    if (block_padding > 0) SSL_CTX_set_block_padding(server_ctx_, static_cast<std::size_t>(block_padding));
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(client_ctx_, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(client_ctx_, suite);
    SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_keylog_callback(client_ctx_, on_keylog);
    server_ = SSL_new(server_ctx_);
    client_ = SSL_new(client_ctx_);
    SSL_set_app_data(client_, this);
    server_in_ = BIO_new(BIO_s_mem());
    server_out_ = BIO_new(BIO_s_mem());
    client_in_ = BIO_new(BIO_s_mem());
    client_out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(server_, server_in_, server_out_);
    SSL_set_bio(client_, client_in_, client_out_);
    SSL_set_accept_state(server_);
    SSL_set_connect_state(client_);
    bool client_done = false;
    for (int round = 0; round < 20 && !client_done; ++round) {
      client_done = SSL_do_handshake(client_) == 1;
      move(client_out_, server_in_);
      SSL_do_handshake(server_);
      if (!client_done) move(server_out_, client_in_);
    }
    SSL_do_handshake(server_);  // the server reads the client's Finished and sends its tickets
    if (!client_done || server_secret_.empty()) throw std::runtime_error("TLS 1.3 handshake in memory failed");
  }
  ~TlsMemoryConnection() {
    SSL_free(client_);
    SSL_free(server_);
    SSL_CTX_free(client_ctx_);
    SSL_CTX_free(server_ctx_);
  }
  TlsMemoryConnection(const TlsMemoryConnection&) = delete;
  TlsMemoryConnection& operator=(const TlsMemoryConnection&) = delete;

  std::uint16_t suite() const { return SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(client_)); }
  const std::vector<unsigned char>& server_secret() const { return server_secret_; }
  // True when the client has bytes it did not read (it must stop at the
  // end of the handshake, where the record reader takes over).
  bool client_read_past_handshake() const { return BIO_ctrl_pending(client_in_) != 0; }

  bool server_write(const std::string& text) {
    return SSL_write(server_, text.data(), static_cast<int>(text.size())) == static_cast<int>(text.size());
  }
  std::string take_server_bytes() { return take(server_out_); }
  SSL* server() { return server_; }
  SSL* client() { return client_; }
  BIO* client_out() { return client_out_; }
  BIO* server_in() { return server_in_; }

  static std::string take(BIO* from) {
    std::string out(static_cast<std::size_t>(BIO_ctrl_pending(from)), '\0');
    if (!out.empty()) BIO_read(from, out.data(), static_cast<int>(out.size()));
    return out;
  }
  static void move(BIO* from, BIO* to) {
    const std::string bytes = take(from);
    if (!bytes.empty()) BIO_write(to, bytes.data(), static_cast<int>(bytes.size()));
  }

 private:
  struct Identity {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    Identity() {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      cert = X509_new();
      X509_set_version(cert, 2);
      ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
      X509_gmtime_adj(X509_getm_notBefore(cert), 0);
      X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
      X509_set_pubkey(cert, key);
      X509_NAME* name = X509_get_subject_name(cert);
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1,
                                 0);
      X509_set_issuer_name(cert, name);
      X509_sign(cert, key, EVP_sha256());
    }
    ~Identity() {
      X509_free(cert);
      EVP_PKEY_free(key);
    }
  };
  static const Identity& identity() {
    static const Identity id;
    return id;
  }

  static void on_keylog(const SSL* ssl, const char* line) {
    const std::string text(line);
    if (text.rfind("SERVER_TRAFFIC_SECRET_0 ", 0) != 0) return;
    auto* self = static_cast<TlsMemoryConnection*>(SSL_get_app_data(ssl));
    const std::string hex = text.substr(text.rfind(' ') + 1);
    self->server_secret_.clear();
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      self->server_secret_.push_back(static_cast<unsigned char>(hex_value(hex[i]) << 4 | hex_value(hex[i + 1])));
  }

  SSL_CTX* server_ctx_ = nullptr;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* server_ = nullptr;
  SSL* client_ = nullptr;
  BIO* server_in_ = nullptr;
  BIO* server_out_ = nullptr;
  BIO* client_in_ = nullptr;
  BIO* client_out_ = nullptr;
  std::vector<unsigned char> server_secret_;
};

}  // namespace tickflow::testing

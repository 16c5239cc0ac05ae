package ca

import (
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// Paths the CA serves.
const (
	PathNonce = "/v1/nonce"
	PathIssue = "/v1/issue"
)

// maxRequestBody bounds a request: evidence (at most about 60 KiB, base64
// encoded) and a certificate request.
const maxRequestBody = 128 << 10

type nonceResponse struct {
	Nonce string `json:"nonce"` // hex
}

type issueRequest struct {
	CSR      []byte `json:"csr"`      // DER
	Evidence []byte `json:"evidence"` // marshalled trust.Evidence
	Nonce    string `json:"nonce"`    // hex
}

type issueResponse struct {
	Certificate string `json:"certificate,omitempty"` // PEM: leaf, then the CA
	Error       string `json:"error,omitempty"`
}

// Handler serves the CA's two endpoints: POST PathNonce returns a nonce,
// POST PathIssue a certificate (403 with the reason if attestation is
// refused, 400 if the request is malformed). Each decision is logged.
func (a *Authority) Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathNonce, func(w http.ResponseWriter, r *http.Request) {
		n, err := a.Nonce()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, nonceResponse{Nonce: hex.EncodeToString(n[:])})
	})
	mux.HandleFunc("POST "+PathIssue, func(w http.ResponseWriter, r *http.Request) {
		var req issueRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, issueResponse{Error: fmt.Sprintf("%v: %v", ErrBadRequest, err)})
			return
		}
		var nonce [32]byte
		if b, err := hex.DecodeString(req.Nonce); err != nil || len(b) != len(nonce) {
			writeJSON(w, http.StatusBadRequest, issueResponse{Error: ErrBadRequest.Error() + ": nonce"})
			return
		} else {
			copy(nonce[:], b)
		}
		der, claims, err := a.Issue(Request{CSR: req.CSR, Evidence: req.Evidence, Nonce: nonce})
		if err != nil {
			status := http.StatusForbidden
			if errors.Is(err, ErrBadRequest) {
				status = http.StatusBadRequest
			}
			log.Warn("ca: refused", "remote", r.RemoteAddr, "err", err)
			writeJSON(w, status, issueResponse{Error: err.Error()})
			return
		}
		log.Info("ca: issued", "remote", r.RemoteAddr, "attested", summary(claims))
		chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw})...)
		writeJSON(w, http.StatusOK, issueResponse{Certificate: string(chain)})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

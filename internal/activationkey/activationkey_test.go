package activationkey

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

func sample() Key {
	k := Key{URL: "https://device.localhost:8443/", KeyID: "0f8fad5b-d9cb-469f-a165-70867728950e",
		ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataBoxEdge/dataBoxEdgeDevices/d1",
		Expiry:     time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), CAFingerprint: sha256.Sum256([]byte("ca"))}
	for i := range k.Secret {
		k.Secret[i] = byte(i + 1)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := sample()
	text := Format(k)
	if !strings.HasPrefix(text, Prefix) {
		t.Fatalf("key %q lacks the prefix", text)
	}
	got, err := Parse("  " + text + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != k {
		t.Fatalf("Parse(Format(k)) = %+v, want %+v", got, k)
	}
	if !got.MatchesCA([]byte("ca")) || got.MatchesCA([]byte("other")) {
		t.Error("MatchesCA does not compare the fingerprint")
	}
	if strings.Contains(k.String(), text[len(Prefix):len(Prefix)+10]) || strings.Contains(k.String(), "AQID") {
		t.Errorf("String() = %q reveals the key", k.String())
	}
}

func TestParseRefuses(t *testing.T) {
	good := Format(sample())
	body := good[len(Prefix):]
	cases := map[string]string{
		"empty":          "",
		"no prefix":      body,
		"other prefix":   "evak2_" + body,
		"truncated":      good[:len(good)-5],
		"padded":         good + "==",
		"not base64":     Prefix + "!!!!",
		"too long":       Prefix + strings.Repeat("A", MaxLen),
		"json array":     Prefix + b64(`[]`),
		"unknown field":  Prefix + b64(`{"v":1,"x":1}`),
		"version 2":      Prefix + b64(`{"v":2}`),
		"http url":       Prefix + b64(`{"v":1,"url":"http://device.localhost/","rid":"/subscriptions/s","kid":"0f8fad5b-d9cb-469f-a165-70867728950e","exp":1,"ca":"`+strings.Repeat("a", 64)+`","s":"`+strings.Repeat("A", 43)+`"}`),
		"short secret":   Prefix + b64(`{"v":1,"url":"https://d/","rid":"/subscriptions/s","kid":"0f8fad5b-d9cb-469f-a165-70867728950e","exp":1,"ca":"`+strings.Repeat("a", 64)+`","s":"AAAA"}`),
		"upper ca":       Prefix + b64(`{"v":1,"url":"https://d/","rid":"/subscriptions/s","kid":"0f8fad5b-d9cb-469f-a165-70867728950e","exp":1,"ca":"`+strings.Repeat("A", 64)+`","s":"`+strings.Repeat("A", 43)+`"}`),
		"bad kid":        Prefix + b64(`{"v":1,"url":"https://d/","rid":"/subscriptions/s","kid":"x","exp":1,"ca":"`+strings.Repeat("a", 64)+`","s":"`+strings.Repeat("A", 43)+`"}`),
		"trailing json":  Prefix + b64(`{"v":1}{}`),
		"no expiry":      Prefix + b64(`{"v":1,"url":"https://d/","rid":"/subscriptions/s","kid":"0f8fad5b-d9cb-469f-a165-70867728950e","exp":0,"ca":"`+strings.Repeat("a", 64)+`","s":"`+strings.Repeat("A", 43)+`"}`),
		"unicode prefix": "еvak1_" + body, // Cyrillic е
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(text)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
			if len(text) > 20 && strings.Contains(err.Error(), text[len(text)-20:]) {
				t.Errorf("error %q quotes the input", err)
			}
		})
	}
}

func b64(s string) string {
	return encode([]byte(s))
}

func FuzzParse(f *testing.F) {
	f.Add(Format(sample()))
	f.Add(Prefix + b64(`{"v":1}`))
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := Parse(Format(k))
		if err != nil || again != k {
			t.Fatalf("a parsed key does not round-trip: %v", err)
		}
	})
}

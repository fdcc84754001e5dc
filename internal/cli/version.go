package cli

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/edgevault/edgevault/internal/cli.Version=v1.2.3".
// When left at "dev", the module version from the build info is used if any.
var Version = "dev"

// Commit is the source revision, set at build time like Version. When empty,
// the VCS revision recorded by the go command (vcs.revision) is used.
var Commit = ""

// Hooks for tests, which need reproducible output.
var (
	readBuildInfo = debug.ReadBuildInfo
	goVersion     = runtime.Version
	platform      = runtime.GOOS + "/" + runtime.GOARCH
)

// versionInfo is the output of `edgevault version`.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// buildVersion resolves the version and commit from the ldflags variables,
// then from the build info.
func buildVersion() versionInfo {
	v := versionInfo{Version: Version, Commit: Commit, GoVersion: goVersion(), Platform: platform}
	bi, ok := readBuildInfo()
	if ok && v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	if ok && v.Commit == "" {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && modified == "true" {
			rev += "-dirty"
		}
		v.Commit = rev
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

// userAgent is the User-Agent of the CLI's requests.
func userAgent() string { return "edgevault-cli/" + buildVersion().Version }

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of edgevault",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			return a.print(cmd.OutOrStdout(), v, record{
				{"version", v.Version}, {"commit", v.Commit}, {"go", v.GoVersion}, {"platform", v.Platform},
			})
		},
	}
}

// libcni-client: a minimal CNI runtime built on libcni (github.com/containernetworking/cni),
// the library containerd, nerdctl, podman and cnitool use. The interop tests drive jailnet's
// plugins through it: conflist parsing, name/cniVersion/runtimeConfig injection, prevResult
// chaining, reverse-order DEL, the result cache and VERSION validation all come from libcni.
//
// usage: libcni-client add|check|del|validate CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]
// env:   CNI_PATH (plugin dirs), CNI_CACHE_DIR (result cache), CNI_ARGS ("K=V;K2=V2")
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: %s add|check|del|validate CONFLIST [CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]]", filepath.Base(os.Args[0]))
	}
	cmd, confPath := os.Args[1], os.Args[2]
	list, err := libcni.ConfListFromFile(confPath)
	if err != nil {
		fail("loading %s: %v", confPath, err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Getenv("CNI_CACHE_DIR"), nil)
	ctx := context.Background()
	if cmd == "validate" {
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail("validate: %v", err)
		}
		out, _ := json.Marshal(caps)
		fmt.Println(string(out))
		return
	}
	if len(os.Args) < 6 {
		fail("%s needs CONTAINERID NETNS IFNAME", cmd)
	}
	rt := &libcni.RuntimeConf{ContainerID: os.Args[3], NetNS: os.Args[4], IfName: os.Args[5]}
	if args := os.Getenv("CNI_ARGS"); args != "" {
		for _, kv := range strings.Split(args, ";") {
			if p := strings.SplitN(kv, "=", 2); len(p) == 2 {
				rt.Args = append(rt.Args, [2]string{p[0], p[1]})
			}
		}
	}
	if len(os.Args) > 6 {
		if err := json.Unmarshal([]byte(os.Args[6]), &rt.CapabilityArgs); err != nil {
			fail("capability args: %v", err)
		}
	}
	switch cmd {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail("add: %v", err)
		}
		if err := res.Print(); err != nil {
			fail("print: %v", err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail("check: %v", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail("del: %v", err)
		}
	default:
		fail("unknown command %s", cmd)
	}
}

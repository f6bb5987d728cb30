// Command etcd is the etcd server, as upstream's own main package builds it
// (go.etcd.io/etcd/v3's main.go): the local control plane's store.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/store"
)

var backupCommand = &command{
	name: "backup", usage: "--out DIR [--url URL --token T]",
	summary: "write a consistent snapshot (also while the server runs)",
	flags: func(fs *pflag.FlagSet) {
		fs.String("out", "", "a new or empty folder for the backup")
		fs.String("url", "", "the running server to ask (default http://ADDR from config) when the file is in use")
		fs.String("token", "", "an admin API token for the running server (default $DESKPULSE_TOKEN)")
	},
	run: func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, _ []string) error {
		out, _ := fs.GetString("out")
		if out == "" {
			return errors.New("give the folder with --out DIR")
		}
		out, err := filepath.Abs(out)
		if err != nil {
			return err
		}
		start := time.Now()
		st, err := openDB(ctx, cfg)
		if err == nil {
			defer st.Close()
			if err := st.Backup(ctx, out); err != nil {
				return err
			}
		} else {
			// The server owns the file: ask it to take the snapshot.
			url, _ := fs.GetString("url")
			token, _ := fs.GetString("token")
			if url == "" {
				url = "http://" + cfg.Addr
			}
			if token == "" {
				token = os.Getenv("DESKPULSE_TOKEN")
			}
			if err := remoteBackup(ctx, strings.TrimRight(url, "/"), token, out); err != nil {
				return fmt.Errorf("the file is in use and the server did not take the backup: %w", err)
			}
		}
		fmt.Printf("backup written to %s in %s\n", out, time.Since(start).Round(time.Millisecond))
		return nil
	},
}

func remoteBackup(ctx context.Context, url, token, dir string) error {
	body, _ := json.Marshal(map[string]string{"dir": dir})
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/backup", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s (pass an admin token with --token or DESKPULSE_TOKEN)", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

var restoreCommand = &command{
	name: "restore", usage: "DIR",
	summary: "recreate the database file from a backup (stop the server, move the old file away)",
	run: func(ctx context.Context, cfg *config.Config, _ *pflag.FlagSet, args []string) error {
		if len(args) != 1 {
			return errors.New("give the backup folder: deskpulse restore DIR")
		}
		if err := store.Restore(ctx, args[0], cfg.DB); err != nil {
			return err
		}
		fmt.Printf("restored %s from %s\n", cfg.DB, args[0])
		return nil
	},
}

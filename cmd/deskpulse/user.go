package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/model"
)

var userCommand = &command{
	name: "user", usage: "add --email E --role R [--name N] | list | token --email E | revoke PREFIX | passwd --email E | disable --email E | enable --email E",
	summary: "manage who may sign in (stop the server first: the file has one owner)",
	flags: func(fs *pflag.FlagSet) {
		fs.String("email", "", "the user's email")
		fs.String("role", "", "admin, manager, analyst or agent")
		fs.String("name", "", "the user's display name")
	},
	run: func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, args []string) error {
		if len(args) == 0 {
			return fmt.Errorf("say what to do: deskpulse user add|list|token|revoke|passwd|disable|enable (see --help)")
		}
		st, err := openDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		svc := auth.New(st)
		email, _ := fs.GetString("email")
		email = strings.ToLower(strings.TrimSpace(email))
		const actor = "cli"
		switch args[0] {
		case "add":
			role, _ := fs.GetString("role")
			name, _ := fs.GetString("name")
			u := &model.User{Email: email, Name: name, Role: model.Role(role)}
			token, err := svc.AddUser(ctx, actor, u)
			if err != nil {
				return err
			}
			fmt.Printf("added %s (%s). API token, shown only now:\n\n    %s\n", u.Email, u.Role, token)
		case "list":
			users, err := st.Users(ctx)
			if err != nil {
				return err
			}
			tokens, err := st.Tokens(ctx, "")
			if err != nil {
				return err
			}
			for _, u := range users {
				state := ""
				if u.DisabledAt != nil {
					state = "  (disabled " + u.DisabledAt.Format("2006-01-02") + ")"
				}
				fmt.Printf("%-36s %-8s %s%s\n", u.Email, u.Role, u.Name, state)
				for _, t := range tokens {
					if t.UserEmail == u.Email {
						state := "live"
						if t.RevokedAt != nil {
							state = "revoked " + t.RevokedAt.Format("2006-01-02")
						}
						fmt.Printf("    token %s...  %s  created %s  %s\n", t.Prefix, state, t.CreatedAt.Format("2006-01-02"), t.Label)
					}
				}
			}
		case "token":
			token, err := svc.NewToken(ctx, actor, email, "cli")
			if err != nil {
				return err
			}
			fmt.Printf("new API token for %s, shown only now:\n\n    %s\n", email, token)
		case "revoke":
			if len(args) < 2 {
				return fmt.Errorf("give the token prefix that `deskpulse user list` shows")
			}
			if err := svc.RevokeToken(ctx, actor, args[1]); err != nil {
				return err
			}
			fmt.Println("revoked", args[1], "and ended the browser sessions signed in with it")
		case "passwd":
			fmt.Fprint(os.Stderr, "new password (10-72 characters), then Enter: ")
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read password: %w", err)
			}
			if err := svc.SetPassword(ctx, actor, email, strings.TrimRight(line, "\r\n")); err != nil {
				return err
			}
			fmt.Println("password set for", email)
		case "disable":
			if err := svc.DisableUser(ctx, actor, email); err != nil {
				return userErr(err, email, "active user")
			}
			fmt.Println("disabled", email+": its tokens are revoked, its sessions ended, and it cannot sign in")
		case "enable":
			if err := svc.EnableUser(ctx, actor, email); err != nil {
				return userErr(err, email, "disabled user")
			}
			fmt.Println("enabled", email+": it may sign in with its password or a new token (`deskpulse user token`)")
		default:
			return fmt.Errorf("unknown user action %q: add, list, token, revoke, passwd, disable or enable", args[0])
		}
		return nil
	},
}

// userErr names the user a not-found error is about.
func userErr(err error, email, what string) error {
	if errors.Is(err, model.ErrNotFound) {
		return fmt.Errorf("no %s %q (see `deskpulse user list`)", what, email)
	}
	return err
}

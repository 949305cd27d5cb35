package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/reports"
)

var reportCommand = &command{
	name: "report", usage: "list | run NAME [--period PERIOD]",
	summary: "list the scheduled reports with their next run, or send one now",
	flags: func(fs *pflag.FlagSet) {
		fs.String("period", "", "period of `report run` instead of the report's own: "+strings.Join(reports.Periods, ", "))
	},
	run: func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, args []string) error {
		if len(args) == 0 || (args[0] == "run" && len(args) != 2) || (args[0] != "run" && args[0] != "list") {
			return fmt.Errorf("usage: deskpulse report list | deskpulse report run NAME [--period PERIOD]")
		}
		st, w, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		defer w.Close()
		eng, err := metrics.New(st, cfg.Metrics)
		if err != nil {
			return err
		}
		svc, err := reports.New(st, eng, cfg.Reports, cfg.SMTP)
		if err != nil {
			return err
		}
		defer svc.Close()
		if args[0] == "list" {
			list, err := svc.Reports(ctx)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Println("no scheduled reports: add them under reports.schedules in config.yaml")
				return nil
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCRON\tZONE\tPERIOD\tNEXT RUN\tNEXT PERIOD\tRECIPIENTS\tLAST RUN")
			for _, r := range list {
				last := "never"
				if r.LastRun != nil {
					last = fmt.Sprintf("%s %s", r.LastRun.StartedAt.In(r.NextRun.Location()).Format("2006-01-02 15:04"), r.LastRun.Status)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s – %s\t%s\t%s\n", r.Name, r.Cron, r.Timezone, r.Period,
					r.NextRun.Format("2006-01-02 15:04 MST"), r.NextFrom.Format("2006-01-02"), r.NextTo.AddDate(0, 0, -1).Format("2006-01-02"),
					strings.Join(r.Recipients, ", "), last)
			}
			return tw.Flush()
		}
		period, _ := fs.GetString("period")
		run, err := svc.RunNow(ctx, args[1], period)
		if err != nil {
			return err
		}
		fmt.Printf("sent %s (%s, %s – %s) to %s in %d attempt(s)\n", run.Report, run.Period,
			run.From.Format("2006-01-02"), run.To.AddDate(0, 0, -1).Format("2006-01-02"), strings.Join(run.Recipients, ", "), run.Attempts)
		return nil
	},
}

#!/usr/bin/perl
# Reads GNU parallel's options the way GNU parallel does: its own option table, taken at run time
# from the installed GNU parallel (sub options_completion_hash), and Getopt::Long configured as it
# configures it ("bundling", "require_order"), so abbreviations (--res), bundles (-kj4) and
# optional values come out exactly as GNU reads them.
#
#   gnu_options.pl GNU_PARALLEL --spec      prints {"name": {"aliases": [...], "type": "=s"}, ...}
#   gnu_options.pl GNU_PARALLEL --parse     reads JSON lines {"argv": [...], "env": STR,
#                                           "config": STR}, prints one JSON line per record:
#                                           {"opts": [[name, value, source], ...],
#                                            "read": [...], "rest": [...], "errors": [...]}
#                                           (read: the arguments as GNU reads them, after a #!
#                                           line's word is split; rest: what follows the options)
# Strings are passed as Latin-1 (one character per byte), so any bytes survive the round trip.
use strict;
use warnings;
use Getopt::Long qw(GetOptionsFromArray);
use JSON::PP;
use Text::ParseWords qw(shellwords);

my ($gnu, $mode) = @ARGV;
die "usage: gnu_options.pl GNU_PARALLEL --spec|--parse\n" unless $gnu and $mode;
my %table = option_table($gnu);
my $json = JSON::PP->new->latin1->canonical;

if ($mode eq "--spec") {
    my %spec;
    for my $key (keys %table) {
        my ($names, $type) = split_spec($key);
        $spec{$names->[0]} = { aliases => $names, type => $type };
    }
    print $json->encode(\%spec), "\n";
} elsif ($mode eq "--parse") {
    while (my $line = <STDIN>) {
        print $json->encode(parse_record($json->decode($line))), "\n";
    }
} else {
    die "gnu_options.pl: unknown mode $mode\n";
}

sub option_table {
    # The hash GNU parallel gives Getopt::Long, with the help texts in [...] cut off.
    my ($path) = @_;
    open(my $fh, "<", $path) or die "gnu_options.pl: cannot read $path: $!\n";
    my $text = do { local $/; <$fh> };
    $text =~ /^(sub options_completion_hash\b.*?^\})/ms
        or die "gnu_options.pl: no options_completion_hash in $path (not GNU parallel?)\n";
    my $sub = $1;
    $sub =~ s/^sub options_completion_hash\b/sub gnu_option_table/;
    no strict;
    eval "package GnuTable; $sub; 1" or die "gnu_options.pl: cannot load the option table: $@\n";
    my %raw = GnuTable::gnu_option_table();
    my %table;
    while (my ($k, $v) = each %raw) {
        (my $key = $k) =~ s/\[.*//s;
        $table{$key} = 1;
    }
    return %table;
}

sub split_spec {
    # "results|result|res=s" -> (["results", "result", "res"], "=s")
    my ($key) = @_;
    $key =~ /^([^=:!+]+)(.*)$/ or die "gnu_options.pl: odd option spec $key\n";
    return ([split /\|/, $1], $2);
}

sub parse_record {
    my ($rec) = @_;
    my (@opts, @errors);
    local $SIG{__WARN__} = sub { my $m = shift; chomp $m; push @errors, $m };
    my $source;
    my %spec;
    for my $key (keys %table) {
        my ($names, $type) = split_spec($key);
        my $takes = $type =~ /^[=:]/;
        $spec{$key} = sub {
            my ($name, $value) = @_;
            push @opts, ["$name", $takes ? "$value" : undef, $source];
        };
    }
    Getopt::Long::Configure("bundling", "require_order");
    # As read_options does: config files, then $PARALLEL, then the command line.
    $source = "config";
    my @config = map { shellwords($_) } grep { !/^\s*#/ } split /\n/, ($rec->{config} // "");
    GetOptionsFromArray(\@config, %spec);
    $source = "env";
    my @env = shellwords($rec->{env} // "");
    GetOptionsFromArray(\@env, %spec);
    $source = "argv";
    my @argv = @{ $rec->{argv} };
    if (@argv and $argv[0] =~ s/^--(shebang-?wrap|shebang|hashbang) *//) {
        # A #! line: GNU strips this first and reads the rest of the word again.
        push @opts, [$1 =~ /wrap/ ? "shebang-wrap" : "shebang", undef, "argv"];
        if ($argv[0] eq "") { shift @argv } else { splice(@argv, 0, 1, shellwords($argv[0])) }
    }
    my @read = @argv;
    GetOptionsFromArray(\@argv, %spec);
    return { opts => \@opts, read => \@read, rest => \@argv, errors => \@errors };
}

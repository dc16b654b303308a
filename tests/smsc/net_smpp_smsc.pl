#!/usr/bin/perl
# An SMSC for tests and benchmarks on Debian's Net::SMPP (libnet-smpp-perl 1.19): an SMPP implementation this
# project did not write. This script only drives it: Net::SMPP frames, encodes and decodes every PDU.
#
#   perl tests/smsc/net_smpp_smsc.pl --port 0 [--ids decimal|hex] [--receipt-id-base same|decimal|hex]
#        [--receipt-stat DELIVRD] [--receipt-err 000] [--receipt-delay-ms 0] [--spool DIR] [--log FILE]
#
# - The first line on stdout is "listening on PORT" (port 0 picks a free one).
# - Any bind is accepted; one child process per connection (as Net::SMPP's own example does).
# - submit_sm: answered with a fresh message id (unique across connections), then, when registered_delivery asks
#   (bits 1-0), one receipt deliver_sm per submit_sm (i.e. per part) with the receipted_message_id and
#   message_state TLVs and the "id:... stat:... err:..." text. Receipts go back on the bind that submitted.
# - Handset messages (MO): every connection bound as receiver or transceiver polls --spool every ~50 ms for
#   "*.json" files, claims one with rename() (atomic: one child wins), sends it as a deliver_sm and deletes the
#   file once deliver_sm_resp status 0 came back. A "try later" answer (0x64, 0x58, 0x14) or a dropped
#   connection puts it back; any other status moves it to NAME.rejected-0xSTATUS. File (JSON):
#     {"source_addr": "447700900123", "source_addr_ton": 1, "source_addr_npi": 1, "destination_addr": "...",
#      "dest_addr_ton": 1, "dest_addr_npi": 1, "data_coding": 0, "esm_class": 0, "short_message_hex": "...",
#      "udh_hex": "050003AB0201", "tlvs": [{"tag": 524, "value_hex": "0001"}]}   (udh_hex, tlvs optional)
# - --log FILE: one JSON line per PDU, received ("dir":"in") and sent ("dir":"out").
use strict;
use warnings;
use Getopt::Long;
use IO::Select;
use JSON::PP;
use POSIX qw(strftime);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);
use Net::SMPP;

my %opt = (host => '127.0.0.1', port => 0, ids => 'decimal', 'receipt-id-base' => 'same',
           'receipt-stat' => 'DELIVRD', 'receipt-err' => '000', 'receipt-delay-ms' => 0,
           spool => '', log => '', 'system-id' => 'NETSMPP');
GetOptions(\%opt, 'host=s', 'port=i', 'ids=s', 'receipt-id-base=s', 'receipt-stat=s', 'receipt-err=s',
           'receipt-delay-ms=i', 'spool=s', 'log=s', 'system-id=s') or die "bad options\n";
die "--ids is decimal or hex\n" unless $opt{ids} =~ /^(decimal|hex)$/;
die "--receipt-id-base is same, decimal or hex\n" unless $opt{'receipt-id-base'} =~ /^(same|decimal|hex)$/;

my %STATE = (ENROUTE => 1, DELIVRD => 2, EXPIRED => 3, DELETED => 4, UNDELIV => 5, ACCEPTD => 6,
             UNKNOWN => 7, REJECTD => 8);
my $receipt_state = $STATE{$opt{'receipt-stat'}} // die "unknown --receipt-stat $opt{'receipt-stat'}\n";
my $receipt_is_failure = $opt{'receipt-stat'} ne 'DELIVRD';

my %NAME = (0x80000000 => 'generic_nack', 0x01 => 'bind_receiver', 0x02 => 'bind_transmitter',
            0x09 => 'bind_transceiver', 0x04 => 'submit_sm', 0x05 => 'deliver_sm', 0x06 => 'unbind',
            0x15 => 'enquire_link', 0x103 => 'data_sm');
$NAME{$_ | 0x80000000} = "$NAME{$_}_resp" for grep { $_ != 0x80000000 } keys %NAME;
my %BIND_RESP = (0x01 => 'bind_receiver_resp', 0x02 => 'bind_transmitter_resp', 0x09 => 'bind_transceiver_resp');
my %RETRY_LATER = (0x64 => 1, 0x58 => 1, 0x14 => 1);

my $log_fh;
if ($opt{log}) {
    open($log_fh, '>>', $opt{log}) or die "log $opt{log}: $!\n";
    $log_fh->autoflush(1);
}

my $srv = Net::SMPP->new_listen($opt{host}, port => $opt{port}, smpp_version => 0x34, listen => 128)
    or die "listen on $opt{host}:$opt{port}: $!\n";
$| = 1;
print "listening on " . $srv->sockport . "\n";

my $parent = $$;
my %children;
my $connection_no = 0;
$SIG{TERM} = $SIG{INT} = sub { kill 'TERM', keys %children if $$ == $parent; exit 0 };
$SIG{CHLD} = sub { while ((my $pid = waitpid(-1, 1)) > 0) { delete $children{$pid} } };

my $c;
while (1) {
    $c = $srv->accept or next;
    $connection_no++;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    last if $pid == 0;
    $children{$pid} = 1;
    undef $c;
}

# ---- one connection (child) ----
$SIG{TERM} = $SIG{INT} = sub { release_all_mo(); exit 0 };
$SIG{CHLD} = 'DEFAULT';
undef $srv;
setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);  # a response and its receipt must not wait for Nagle
my $next_id = 0;
my $bound = '';            # receiver / transmitter / transceiver
my @due_receipts;          # [due_time, args...] in due order (delay is the same for all)
my %mo_in_flight;          # deliver_sm seq -> [claimed path, original path]
my $next_spool_poll = 0;

sub hexof { return unpack('H*', $_[0] // '') }
sub jstr {
    my $s = shift // '';
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\x00-\x1f\x7f-\xff])/sprintf('\\u%04x', ord $1)/ge;
    return "\"$s\"";
}

sub log_pdu {
    my ($dir, $cmd, $seq, $status, %f) = @_;
    return unless $log_fh;
    my $line = sprintf('{"t":%.6f,"pid":%d,"conn":%d,"dir":"%s","command":%s,"command_id":%d,"status":%d,"seq":%d',
                       time, $$, $connection_no, $dir, jstr($NAME{$cmd} // sprintf('0x%08x', $cmd)),
                       $cmd, $status // 0, $seq);
    for my $k (sort keys %f) {
        my $v = $f{$k};
        if (ref $v eq 'HASH') {
            $line .= ",\"$k\":{" . join(',', map { "\"$_\":" . jstr($v->{$_}) } sort keys %$v) . '}';
        } elsif (defined $v && $v =~ /^-?\d+$/ && $k !~ /addr$|_hex$|^message_id$|^system_id$/) {
            $line .= ",\"$k\":$v";
        } else {
            $line .= ",\"$k\":" . jstr($v);
        }
    }
    syswrite($log_fh, "$line}\n");
}

sub tlvs_of {  # Net::SMPP keeps every optional parameter under its numeric tag too
    my $pdu = shift;
    return { map { sprintf('0x%04x', $_) => hexof($pdu->{$_}) } grep { /^\d+$/ } keys %$pdu };
}

sub message_fields {
    my $pdu = shift;
    return (source_addr => $pdu->{source_addr}, source_addr_ton => $pdu->{source_addr_ton},
            source_addr_npi => $pdu->{source_addr_npi}, destination_addr => $pdu->{destination_addr},
            dest_addr_ton => $pdu->{dest_addr_ton}, dest_addr_npi => $pdu->{dest_addr_npi},
            esm_class => $pdu->{esm_class}, data_coding => $pdu->{data_coding},
            registered_delivery => $pdu->{registered_delivery}, validity_period => $pdu->{validity_period},
            short_message_hex => hexof($pdu->{short_message}), tlvs => tlvs_of($pdu));
}

sub id_text {
    my ($n, $base) = @_;
    return $base eq 'hex' ? sprintf('%X', $n) : "$n";
}

sub answer_submit {
    my $pdu = shift;
    # Unique across connections: each child numbers from its connection number times 10^8.
    my $n = $connection_no * 100_000_000 + 1000 + $next_id++;
    my $id = id_text($n, $opt{ids});
    $c->submit_sm_resp(message_id => $id, seq => $pdu->{seq});
    log_pdu('out', 0x80000004, $pdu->{seq}, 0, message_id => $id);
    my $wants = ($pdu->{registered_delivery} // 0) & 0x03;
    return unless $wants == 1 || ($wants == 2 && $receipt_is_failure);
    my $rid = $opt{'receipt-id-base'} eq 'same' ? $id : id_text($n, $opt{'receipt-id-base'});
    my $body = $pdu->{short_message} // '';
    $body = substr($body, 1 + ord(substr($body, 0, 1))) if (($pdu->{esm_class} // 0) & 0x40) && length $body;
    (my $text = substr($body, 0, 20)) =~ s/[^\x20-\x7e]/./g;
    my $date = strftime('%y%m%d%H%M', gmtime);
    my $delivered = $receipt_is_failure ? '000' : '001';
    my @receipt = (
        source_addr_ton => $pdu->{dest_addr_ton}, source_addr_npi => $pdu->{dest_addr_npi},
        source_addr => $pdu->{destination_addr}, dest_addr_ton => $pdu->{source_addr_ton},
        dest_addr_npi => $pdu->{source_addr_npi}, destination_addr => $pdu->{source_addr}, esm_class => 0x04,
        short_message => "id:$rid sub:001 dlvrd:$delivered submit date:$date done date:$date "
            . "stat:$opt{'receipt-stat'} err:$opt{'receipt-err'} text:$text",
        receipted_message_id => $rid, message_state => pack('C', $receipt_state),
    );
    push @due_receipts, [time + $opt{'receipt-delay-ms'} / 1000, @receipt];
}

sub send_due_receipts {
    my $now = time;
    while (@due_receipts && $due_receipts[0][0] <= $now) {
        my (undef, %r) = @{ shift @due_receipts };
        my $seq = $c->deliver_sm(%r, async => 1);
        log_pdu('out', 0x05, $seq, 0, (map { $_ => $r{$_} } qw(source_addr destination_addr esm_class)),
                short_message_hex => hexof($r{short_message}),
                tlvs => { '0x001e' => hexof($r{receipted_message_id}), '0x0427' => hexof($r{message_state}) });
    }
}

sub release_all_mo {  # the connection ends with MOs unanswered: the SMSC keeps them for the next bind
    for my $seq (keys %mo_in_flight) {
        my ($claimed, $original) = @{ delete $mo_in_flight{$seq} };
        rename $claimed, $original;
    }
}

sub poll_spool {
    return unless $opt{spool} && ($bound eq 'receiver' || $bound eq 'transceiver');
    opendir(my $dh, $opt{spool}) or return;
    my @files = sort grep { /^[^.].*\.json$/ } readdir $dh;
    closedir $dh;
    for my $name (@files) {
        my $original = "$opt{spool}/$name";
        my $claimed = "$opt{spool}/.$name.claimed-$$";
        next unless rename $original, $claimed;   # another connection claimed it first
        my $mo = eval {
            open(my $fh, '<', $claimed) or die "$!";
            local $/; decode_json(<$fh>);
        };
        if (!$mo) { rename $claimed, "$original.unreadable"; warn "spool $name: $@"; next }
        my $short = pack('H*', $mo->{udh_hex} // '') . pack('H*', $mo->{short_message_hex} // '');
        my $esm = ($mo->{esm_class} // 0) | (defined $mo->{udh_hex} ? 0x40 : 0);
        my @tlvs;
        for my $t (@{ $mo->{tlvs} // [] }) {
            my $tag_name = Net::SMPP::param_tab->{$t->{tag}}{name}
                // do { warn "spool $name: tag $t->{tag} unknown to Net::SMPP, skipped"; next };
            push @tlvs, $tag_name => pack('H*', $t->{value_hex});
        }
        my %f = (source_addr => $mo->{source_addr}, source_addr_ton => $mo->{source_addr_ton} // 1,
                 source_addr_npi => $mo->{source_addr_npi} // 1, destination_addr => $mo->{destination_addr},
                 dest_addr_ton => $mo->{dest_addr_ton} // 1, dest_addr_npi => $mo->{dest_addr_npi} // 1,
                 esm_class => $esm, data_coding => $mo->{data_coding} // 0, short_message => $short);
        my $seq = $c->deliver_sm(%f, @tlvs, async => 1);
        $mo_in_flight{$seq} = [$claimed, $original];
        log_pdu('out', 0x05, $seq, 0, (map { $_ => $f{$_} } qw(source_addr source_addr_ton source_addr_npi
                destination_addr dest_addr_ton dest_addr_npi esm_class data_coding)),
                short_message_hex => hexof($short), spool_file => $name);
    }
}

sub mo_answered {
    my ($seq, $status) = @_;
    my $entry = delete $mo_in_flight{$seq} or return;
    my ($claimed, $original) = @$entry;
    if ($status == 0) { unlink $claimed }
    elsif ($RETRY_LATER{$status}) { rename $claimed, $original }
    else { rename $claimed, sprintf('%s.rejected-0x%02x', $original, $status) }
}

my $sel = IO::Select->new($c);
while (1) {
    last if getppid() != $parent;   # the SMSC was stopped: no orphan connections
    my $timeout = 0.05;
    if (@due_receipts) {
        my $wait = $due_receipts[0][0] - time;
        $timeout = $wait < 0 ? 0 : $wait if $wait < $timeout;
    }
    if ($sel->can_read($timeout)) {
        my $pdu = $c->read_pdu() or last;
        my ($cmd, $seq) = ($pdu->{cmd}, $pdu->{seq});
        if ($BIND_RESP{$cmd}) {
            my $m = $BIND_RESP{$cmd};
            log_pdu('in', $cmd, $seq, $pdu->{status}, system_id => $pdu->{system_id});
            $c->$m(system_id => $opt{'system-id'}, seq => $seq);
            $bound = { 0x01 => 'receiver', 0x02 => 'transmitter', 0x09 => 'transceiver' }->{$cmd};
        } elsif ($cmd == 0x04) {
            log_pdu('in', $cmd, $seq, $pdu->{status}, message_fields($pdu));
            answer_submit($pdu);
        } elsif ($cmd == 0x80000005) {
            log_pdu('in', $cmd, $seq, $pdu->{status});
            mo_answered($seq, $pdu->{status});
        } elsif ($cmd == 0x80000000) {  # generic_nack of one of our deliver_sm
            log_pdu('in', $cmd, $seq, $pdu->{status});
            mo_answered($seq, $pdu->{status} || 0x03);
        } elsif ($cmd == 0x15) {
            log_pdu('in', $cmd, $seq, $pdu->{status});
            $c->enquire_link_resp(seq => $seq);
        } elsif ($cmd == 0x06) {
            log_pdu('in', $cmd, $seq, $pdu->{status});
            $c->unbind_resp(seq => $seq);
            last;
        } elsif ($cmd & 0x80000000) {
            log_pdu('in', $cmd, $seq, $pdu->{status});
        } else {
            log_pdu('in', $cmd, $seq, $pdu->{status});
            $c->generic_nack(seq => $seq, status => 3);  # ESME_RINVCMDID
        }
    }
    send_due_receipts();
    if (time >= $next_spool_poll) {
        poll_spool();
        $next_spool_poll = time + 0.05;
    }
}
release_all_mo();
exit 0;

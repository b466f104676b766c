#!/usr/bin/env python3
"""Summarize a node --cpu-prof profile: share of busy time by module group and the top functions.

  python3 test/bench/cpuprofile-summary.py PROFILE.cpuprofile
"""
import json,sys,collections,re
p=json.load(open(sys.argv[1]))
nodes={n['id']:n for n in p['nodes']}
dt=collections.Counter()
samples=p['samples']; deltas=p['timeDeltas']
for s,d in zip(samples,deltas): dt[s]+=d
total=sum(dt.values())
def cat(n):
  cf=n['callFrame']; u=cf['url']; f=cf['functionName']
  if f in ('(idle)',): return 'idle'
  if f=='(garbage collector)': return 'gc'
  if f=='(program)': return 'program'
  for k,pat in [('pg-protocol','pg-protocol'),('pg','node_modules/pg/'),('pg-pool','pg-pool'),('knex','knex'),('fast-xml-parser','fast-xml-parser'),('pino','pino'),('fastify','fastify'),('prom-client','prom-client')]:
    if pat in u: return k
  m=re.search(r'/src/([a-z-]+)/',u)
  if m: return 'src/'+m.group(1)
  if '/src/' in u: return 'src'
  if u.startswith('node:') or u=='' : 
    if f in ('writev','writeBuffer','writeUtf8String','send','doSend','sendto'): return 'native-write/send'
    return 'node:'+ (u[5:].split('/')[0] if u else ('native:'+f))
  return 'other'
by=collections.Counter(); fn=collections.Counter()
for i,t in dt.items():
  n=nodes[i]; c=cat(n); by[c]+=t; fn[(c,n['callFrame']['functionName'],n['callFrame']['url'].split('/')[-1])]+=t
busy=total-by['idle']
print('busy ms',busy/1000,'total ms',total/1000)
for k,v in by.most_common(25):
  if k!='idle': print(f'{k:30s} {100*v/busy:5.1f}%')
print('--- top functions')
for k,v in fn.most_common(30):
  if k[0]!='idle': print(f'{100*v/busy:5.1f}% {k}')

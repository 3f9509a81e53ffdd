#!/usr/bin/env python3
"""Import cycles between the source files of src/ and blocks/: every
`crate::`, `super::` and relative `use` of a child module is an edge from the
file to the file that defines the path; a strongly connected component of
more than one file is a cycle. Prints them and exits 1 if there is any.
Run by .ci/run: the layers of the tree only import downwards."""
import re, os, sys, subprocess
root=sys.argv[1] if len(sys.argv)>1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
os.chdir(root)
files=subprocess.check_output(['git','ls-files','src/*.rs','blocks/*.rs']).decode().split()
# module path -> file
def modpath(f):
    if f.startswith('blocks/'):
        p=['blocks']+f[len('blocks/'):-3].split('/')
    else:
        p=f[len('src/'):-3].split('/')
    if p[-1] in ('mod','lib','main'): p=p[:-1]
    return tuple(p)
mods={modpath(f):f for f in files}
def resolve(path):
    # longest prefix that is a module
    for k in range(len(path),0,-1):
        if tuple(path[:k]) in mods: return mods[tuple(path[:k])]
    return None
edges={}
for f in files:
    s=open(f).read()
    # strip comments
    s=re.sub(r'//[^\n]*','',s)
    s=re.sub(r'pub\(in crate::[a-z_:]+\)','pub(crate)',s)
    # cut tests module
    i=s.find('#[cfg(test)]\nmod tests')
    if i>=0: s=s[:i]
    me=modpath(f)
    deps=set()
    for m in re.finditer(r'crate::([A-Za-z_0-9:]+)', s):
        path=m.group(1).split('::')
        t=resolve(path)
        if t and t!=f: deps.add(t)
    for m in re.finditer(r'use crate::([A-Za-z_0-9]+(?:::[A-Za-z_0-9]+)*)::\{([^}]*)\}', s):
        base=m.group(1).split('::')
        for item in m.group(2).split(','):
            item=item.strip().split(' as ')[0].split('::')
            if not item[0]: continue
            t=resolve(base+item)
            if t and t!=f: deps.add(t)
    # super:: references
    for m in re.finditer(r'super::([A-Za-z_0-9:]+)', s):
        parent=list(me[:-1]) if not f.endswith('mod.rs') else list(me[:-1])
        t=resolve(parent+m.group(1).split('::'))
        if t and t!=f: deps.add(t)
    # `use super::*` and `use child::...` (relative paths)
    parent=list(me[:-1])
    if re.search(r'use super::\*', s):
        t=resolve(parent)
        if t and t!=f: deps.add(t)
    for m in re.finditer(r'(?m)^\s*(?:pub(?:\([a-z ]+\))? )?use ([a-z_0-9]+)::', s):
        name=m.group(1)
        if name in ('std','crate','super','self','serde','rayon','clap','glob','libc','sha2','rand','rand_chacha','rand_distr','plotters','png','serde_json','serde_yaml','thiserror','humantime','clap_complete'): continue
        t=mods.get(tuple(list(me)+[name]))
        if t and t!=f: deps.add(t)
    edges[f]=deps
# find cycles via Tarjan SCC
index={}; low={}; st=[]; on=set(); sccs=[]; i=[0]
sys.setrecursionlimit(10000)
def strong(v):
    index[v]=low[v]=i[0]; i[0]+=1; st.append(v); on.add(v)
    for w in edges.get(v,()):
        if w not in index: strong(w); low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],index[w])
    if low[v]==index[v]:
        c=[]
        while True:
            w=st.pop(); on.discard(w); c.append(w)
            if w==v: break
        if len(c)>1: sccs.append(c)
for v in files:
    if v not in index: strong(v)
for c in sccs:
    print('CYCLE:', sorted(c))
    for a in c:
        for b in edges[a]:
            if b in c: print('   ',a,'->',b)
print(len(sccs),'cycles')
sys.exit(1 if sccs else 0)

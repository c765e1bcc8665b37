import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import HomeView from '@/views/HomeView.vue'

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'home', component: HomeView, meta: { title: 'Larkspur Market' } },
  { path: '/catalog', name: 'catalog', component: () => import('@/views/CatalogView.vue'), meta: { title: 'Catalog' } },
  {
    path: '/products/:productId',
    name: 'product',
    component: () => import('@/views/ProductView.vue'),
    props: true,
    meta: { title: 'Product' },
  },
  { path: '/cart', name: 'cart', component: () => import('@/views/CartView.vue'), meta: { title: 'Your cart' } },
  {
    path: '/orders/:orderNumber',
    name: 'order',
    component: () => import('@/views/OrderConfirmationView.vue'),
    props: true,
    meta: { title: 'Thank you' },
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/views/NotFoundView.vue'), meta: { title: 'Not found' } },
]

/** The app's router. Routes live at the site's root; only the built assets sit under /static/. */
export function createAppRouter(history = createWebHistory('/')) {
  const router = createRouter({
    history,
    routes,
    scrollBehavior(_to, _from, savedPosition) {
      return savedPosition ?? { top: 0 }
    },
  })
  router.afterEach((to) => {
    const title = to.meta.title as string | undefined
    if (title && to.name !== 'product' && to.name !== 'catalog') {
      document.title = title === 'Larkspur Market' ? title : `${title} · Larkspur Market`
    }
  })
  return router
}
